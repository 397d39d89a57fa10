#include "api/detach_keys.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int detach_keys_parse(detach_keys *k, const char *spec, berr *e)
{
    memset(k, 0, sizeof *k);
    if (!spec || !*spec)
        return 0;
    char copy[256];
    snprintf(copy, sizeof copy, "%s", spec);
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        if (k->len == sizeof k->seq)
            return berr_set(e, -EINVAL, "Invalid detach keys (%s) provided", spec);
        unsigned char b;
        if (strlen(tok) == 1) {
            b = (unsigned char)tok[0];
        } else if (strncmp(tok, "ctrl-", 5) == 0 && strlen(tok) == 6) {
            char c = (char)tolower((unsigned char)tok[5]);
            if (c >= 'a' && c <= 'z')
                b = (unsigned char)(c - 'a' + 1);
            else if (c == '@')
                b = 0;
            else if (c == '[')
                b = 27;
            else if (c == '\\')
                b = 28;
            else if (c == ']')
                b = 29;
            else if (c == '^')
                b = 30;
            else if (c == '_')
                b = 31;
            else
                return berr_set(e, -EINVAL, "Invalid detach keys (%s) provided", spec);
        } else {
            return berr_set(e, -EINVAL, "Invalid detach keys (%s) provided", spec);
        }
        k->seq[k->len++] = b;
    }
    return 0;
}

bool detach_keys_feed(detach_keys *k, const char *data, size_t len, buf *out)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)data[i];
        if (k->len && b == k->seq[k->matched]) {
            if (++k->matched == k->len) {
                k->matched = 0;
                return true;
            }
            continue;
        }
        if (k->matched) {
            /* the held-back prefix was ordinary input after all */
            buf_append(out, k->seq, k->matched);
            k->matched = 0;
            if (k->len && b == k->seq[0]) {
                k->matched = 1;
                continue;
            }
        }
        buf_append(out, &data[i], 1);
    }
    return false;
}
