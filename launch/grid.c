//  grid.c - see grid.h.
#include "grid.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_MAX_RANGE 100000  // values one "A..B" range may expand to

void
grid_init(grid_t *g)
{
    g->axes = NULL;
    g->count = 0;
}

void
grid_fini(grid_t *g)
{
    for (size_t a = 0; a < g->count; a++) {
        for (size_t i = 0; i < g->axes[a].count; i++)
            free(g->axes[a].values[i]);
        free(g->axes[a].values);
        free(g->axes[a].key);
    }
    free(g->axes);
    g->axes = NULL;
    g->count = 0;
}

int
grid_is_axis(const char *arg)
{
    const char *eq = strchr(arg, '=');
    return eq && (strchr(eq + 1, ',') || strstr(eq + 1, ".."));
}

//  Parses a whole decimal integer (optional sign); 0 on success.
static int
s_parse_int(const char *text, size_t len, long long *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return errno || *end ? -1 : 0;
}

static int
s_push(grid_axis_t *axis, const char *text, size_t len)
{
    char **grown = realloc(axis->values, (axis->count + 1) * sizeof *grown);
    if (!grown)
        return MR_ENOMEM;
    axis->values = grown;
    axis->values[axis->count] = strndup(text, len);
    if (!axis->values[axis->count])
        return MR_ENOMEM;
    axis->count++;
    return MR_OK;
}

//  Fills axis from the list "v1,v2,A..B,..." (ranges may stand among plain values).
static int
s_parse_values(grid_axis_t *axis, const char *arg, const char *list, mr_err_t *err)
{
    for (const char *item = list;;) {
        size_t len = strcspn(item, ",");
        if (len == 0)
            return mr_err_set(err, MR_ECONFIG, "'%s': an empty value in the list", arg);
        const char *dots = strstr(item, "..");
        if (dots && dots < item + len) {
            long long lo, hi;
            if (s_parse_int(item, (size_t) (dots - item), &lo) != 0 ||
                s_parse_int(dots + 2, len - (size_t) (dots + 2 - item), &hi) != 0)
                return mr_err_set(err, MR_ECONFIG, "'%s': a range is two integers, A..B", arg);
            if (lo > hi || hi - lo >= GRID_MAX_RANGE)
                return mr_err_set(err, MR_ECONFIG,
                                  "'%s': range %lld..%lld must have A <= B and at most %d values",
                                  arg, lo, hi, GRID_MAX_RANGE);
            for (long long v = lo; v <= hi; v++) {
                char num[32];
                int n = snprintf(num, sizeof num, "%lld", v);
                if (s_push(axis, num, (size_t) n) != MR_OK)
                    return mr_err_set(err, MR_ENOMEM, "out of memory");
            }
        } else if (s_push(axis, item, len) != MR_OK) {
            return mr_err_set(err, MR_ENOMEM, "out of memory");
        }
        if (item[len] == '\0')
            return MR_OK;
        item += len + 1;
    }
}

int
grid_add(grid_t *g, const char *arg, mr_err_t *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return mr_err_set(err, MR_ECONFIG, "'%s' is not key=value", arg);
    size_t klen = (size_t) (eq - arg);
    for (size_t a = 0; a < g->count; a++)
        if (strlen(g->axes[a].key) == klen && strncmp(g->axes[a].key, arg, klen) == 0)
            return mr_err_set(err, MR_ECONFIG, "'%s': key '%s' already has a list of values", arg,
                              g->axes[a].key);
    grid_axis_t axis = {strndup(arg, klen), NULL, 0};
    if (!axis.key)
        return mr_err_set(err, MR_ENOMEM, "out of memory");
    grid_axis_t *grown = realloc(g->axes, (g->count + 1) * sizeof *grown);
    if (!grown) {
        free(axis.key);
        return mr_err_set(err, MR_ENOMEM, "out of memory");
    }
    g->axes = grown;
    g->axes[g->count++] = axis;  // owned by g from here, also on failure below
    return s_parse_values(&g->axes[g->count - 1], arg, eq + 1, err);
}

size_t
grid_points(const grid_t *g)
{
    size_t total = 1;
    for (size_t a = 0; a < g->count; a++)
        total *= g->axes[a].count;
    return total;
}

const char *
grid_value(const grid_t *g, size_t index, size_t a)
{
    assert(a < g->count && index < grid_points(g));
    // Mixed radix, the last axis the lowest digit.
    for (size_t b = g->count; b-- > a + 1;)
        index /= g->axes[b].count;
    return g->axes[a].values[index % g->axes[a].count];
}

void
grid_label(const grid_t *g, size_t index, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t a = 0; a < g->count && used < size; a++) {
        int n = snprintf(out + used, size - used, "%s%s=%s", a ? " " : "", g->axes[a].key,
                         grid_value(g, index, a));
        if (n < 0)
            return;
        used += (size_t) n;
    }
}
