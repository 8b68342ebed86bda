//  method_impl.h - private to optim/: the method tables that method.c lists, and MARINA's
//  functions, which method_gd.c reuses (MARINA with p = 1 and Q = identity is GD; MARINA paper,
//  Sec. 2). Nothing outside optim/ includes this header; use method_find() instead.
#ifndef METHOD_IMPL_H
#define METHOD_IMPL_H

#include "method.h"

//  Checks what every method needs: n >= 1, gamma > 0 finite, p in (0, 1]; err names the key.
int method_check_common(const method_params_t *mp, mr_err_t *err);

extern const method_t method_marina;
extern const method_t method_gd;
extern const method_t method_vr_marina;
extern const method_t method_vr_marina_online;
extern const method_t method_pp_marina;

method_worker_t *method_marina_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err);
void method_marina_worker_destroy(method_worker_t **self_p);
int method_marina_worker_step(method_worker_t *self,
                              const method_round_t *rd,
                              rng_t *rng,
                              cvec_t *out,
                              method_report_t *report);
const vec_t *method_marina_worker_x(const method_worker_t *self);

method_server_t *
method_marina_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err);
void method_marina_server_destroy(method_server_t **self_p);
void
method_marina_server_plan(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd);
int method_marina_server_combine(method_server_t *self,
                                 const method_round_t *rd,
                                 const cvec_t *const *ups,
                                 mr_err_t *err);
const vec_t *method_marina_server_x(const method_server_t *self);

extern const method_t method_dcgd;
extern const method_t method_diana;
extern const method_t method_vr_diana;
extern const method_t method_sgd;

//  DIANA's worker and server (method_diana.c). DCGD is DIANA with alpha = 0 and runs both; SGD
//  runs the server (with alpha = 0: g^k is the mean of the updates).
method_worker_t *method_diana_worker_new(
    const method_params_t *mp, const loss_t *loss, uint32_t id, const vec_t *x0, mr_err_t *err);
void method_diana_worker_destroy(method_worker_t **self_p);
int method_diana_worker_step(method_worker_t *self,
                             const method_round_t *rd,
                             rng_t *rng,
                             cvec_t *out,
                             method_report_t *report);
const vec_t *method_diana_worker_x(const method_worker_t *self);

method_server_t *method_diana_server_new(const method_params_t *mp, const vec_t *x0, mr_err_t *err);
void method_diana_server_destroy(method_server_t **self_p);
void
method_diana_server_plan(method_server_t *self, uint64_t round, rng_t *rng, method_round_t *rd);
int method_diana_server_combine(method_server_t *self,
                                const method_round_t *rd,
                                const cvec_t *const *ups,
                                mr_err_t *err);
const vec_t *method_diana_server_x(const method_server_t *self);

#endif
