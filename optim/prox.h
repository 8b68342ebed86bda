//  prox.h - regularisers R and their proximal operators (the slides' proximal / projected steps).
//  The objective of a run is F = f + R. R is one of: none; l1 (lambda1 |x|_1); l2 (lambda2/2 |x|^2);
//  the indicator of the l2 ball {|x| <= radius}; the indicator of the box [lo, hi]^d.
//  prox_cfg_t is plain data; the functions are pure.
#ifndef PROX_H
#define PROX_H

#include <stddef.h>

#include "mr_err.h"
#include "vec.h"

typedef enum {
    PROX_NONE = 0,
    PROX_L1 = 1,    // lambda1 |x|_1
    PROX_L2 = 2,    // lambda2 / 2 |x|^2
    PROX_BALL = 3,  // 0 if |x|_2 <= radius, else +inf
    PROX_BOX = 4,   // 0 if lo <= x_i <= hi for all i, else +inf
} prox_kind_t;

typedef struct {
    prox_kind_t kind;
    double lambda1;  // l1 weight (>= 0)
    double lambda2;  // l2 weight (>= 0)
    double radius;   // ball radius (> 0)
    double lo, hi;   // box bounds (lo <= hi)
} prox_cfg_t;

//  The kind named name ("none", "l1", "l2", "ball", "box"); MR_ECONFIG naming key 'reg'.
int prox_kind_parse(const char *name, prox_kind_t *kind, mr_err_t *err);
const char *prox_kind_name(prox_kind_t kind);
//  Checks the parameters of cfg's kind (lambda >= 0, radius > 0, lo <= hi), naming the key.
int prox_check(const prox_cfg_t *cfg, mr_err_t *err);

//  R(x) (+INFINITY outside a constraint set).
double prox_value(const prox_cfg_t *cfg, const vec_t *x);
//  x <- prox_{gamma R}(x) = argmin_u R(u) + |u - x|^2 / (2 gamma), in place.
void prox_apply(const prox_cfg_t *cfg, double gamma, vec_t *x);

#endif
