//  method.c - the table of distributed methods; see method.h.
#include "method.h"

#include <string.h>

#include "method_impl.h"

//  Every method, in the order --help lists them.
static const method_t *const s_methods[] = {&method_marina,
                                            &method_gd,
                                            &method_vr_marina,
                                            &method_vr_marina_online,
                                            &method_pp_marina,
                                            &method_dcgd,
                                            &method_diana,
                                            &method_vr_diana,
                                            &method_sgd,
                                            &method_sega,
                                            &method_sega_biased,
                                            &method_sega_subspace,
                                            &method_cd,
                                            &method_acd,
                                            &method_asega,
                                            &method_rds,
                                            &method_byz_vr_marina,
                                            &method_br_sgdm};
#define S_NMETHODS (sizeof s_methods / sizeof s_methods[0])

//  Kept in step with s_methods (a test checks it), NULL-terminated for callers.
static const char *const s_names[S_NMETHODS + 1] = {"marina",
                                                    "gd",
                                                    "vr-marina",
                                                    "vr-marina-online",
                                                    "pp-marina",
                                                    "dcgd",
                                                    "diana",
                                                    "vr-diana",
                                                    "sgd",
                                                    "sega",
                                                    "sega-biased",
                                                    "sega-subspace",
                                                    "cd",
                                                    "acd",
                                                    "asega",
                                                    "rds",
                                                    "byz-vr-marina",
                                                    "br-sgdm",
                                                    NULL};

const method_t *
method_find(const char *name)
{
    for (size_t i = 0; name && i < S_NMETHODS; i++)
        if (strcmp(name, s_methods[i]->name) == 0)
            return s_methods[i];
    return NULL;
}

const char *const *
method_names(void)
{
    return s_names;
}
