/*
 * canary.verdict: promote a canary or hold it back, from its error rate and p99
 * latency against the limits the workflow passes. An edgeflow user op in C for the
 * WASI ABI: the op's arguments arrive as one JSON object on stdin, the result goes
 * to stdout as JSON, and stderr lines land in the step's log.
 *
 * The input's shape is fixed by the op's declaration in ../canary_gate.edgeflow, so
 * a small reader for its four fields is enough here; a larger op would link a JSON
 * library (cJSON builds for wasm32-wasi unchanged).
 *
 * Build: ./build.sh (Debian: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_MAX 4096

/* The text right after `"name":` in the object, or NULL. */
static const char *field(const char *json, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *at = strstr(json, key);
    return at ? at + strlen(key) : NULL;
}

/* A duration as edgeflow encodes it ("250ms", "1s500ms", "2m") in milliseconds. */
static double duration_ms(const char *text) {
    double total = 0;
    if (!text || *text != '"') return -1;
    text++;
    while (*text && *text != '"') {
        char *unit;
        double amount = strtod(text, &unit);
        if (unit == text) return -1;
        if (strncmp(unit, "ms", 2) == 0) { total += amount; text = unit + 2; }
        else if (strncmp(unit, "us", 2) == 0) { total += amount / 1000; text = unit + 2; }
        else if (strncmp(unit, "ns", 2) == 0) { total += amount / 1e6; text = unit + 2; }
        else if (*unit == 's') { total += amount * 1000; text = unit + 1; }
        else if (*unit == 'm') { total += amount * 60000; text = unit + 1; }
        else if (*unit == 'h') { total += amount * 3600000; text = unit + 1; }
        else if (*unit == 'd') { total += amount * 86400000; text = unit + 1; }
        else return -1;
    }
    return total;
}

int main(void) {
    static char input[INPUT_MAX + 1];
    size_t len = fread(input, 1, INPUT_MAX, stdin);
    input[len] = '\0';

    const char *error_rate_at = field(input, "error_rate");
    const char *max_error_rate_at = field(input, "max_error_rate");
    double latency = duration_ms(field(input, "latency_p99"));
    double max_latency = duration_ms(field(input, "max_latency"));
    if (!error_rate_at || !max_error_rate_at || latency < 0 || max_latency < 0) {
        fprintf(stderr, "canary.verdict: unexpected input: %s\n", input);
        return 2;
    }
    double error_rate = strtod(error_rate_at, NULL);
    double max_error_rate = strtod(max_error_rate_at, NULL);
    fprintf(stderr, "error rate %.4f (limit %.4f), p99 %.0f ms (limit %.0f ms)\n",
            error_rate, max_error_rate, latency, max_latency);

    if (error_rate > max_error_rate) {
        printf("{\"promote\":false,\"reason\":\"error rate %.2f%% is over %.2f%%\"}",
               error_rate * 100, max_error_rate * 100);
    } else if (latency > max_latency) {
        printf("{\"promote\":false,\"reason\":\"p99 latency %.0f ms is over %.0f ms\"}",
               latency, max_latency);
    } else {
        printf("{\"promote\":true,\"reason\":\"error rate and p99 latency within limits\"}");
    }
    return 0;
}
