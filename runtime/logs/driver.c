#include "runtime/logs/driver.h"

#include <stdlib.h>
#include <string.h>

/* Options every driver takes for picking container attributes into the
 * message (dockerd's logger.Info.ExtraAttributes) and its tag. */
#define ATTRS "labels", "labels-regex", "env", "env-regex"

typedef struct driver_def {
    const char *name;
    const char *const *opts;
} driver_def;

static const char *const json_file_opts[] = {"max-size", "max-file", "compress", "tag", ATTRS, NULL};
static const char *const local_opts[] = {"max-size", "max-file", "compress", NULL};
static const char *const syslog_opts[] = {"syslog-address", "syslog-facility", "syslog-tls-ca-cert", "syslog-tls-cert",
                                          "syslog-tls-key", "syslog-tls-skip-verify", "syslog-format", "tag", ATTRS, NULL};
static const char *const gelf_opts[] = {"gelf-address", "gelf-compression-type", "gelf-compression-level",
                                        "gelf-tcp-max-reconnect", "gelf-tcp-reconnect-delay", "tag", ATTRS, NULL};
static const char *const fluentd_opts[] = {"fluentd-address", "fluentd-async", "fluentd-async-connect",
                                           "fluentd-buffer-limit", "fluentd-retry-wait", "fluentd-max-retries",
                                           "fluentd-sub-second-precision", "fluentd-request-ack",
                                           "fluentd-write-timeout", "tag", ATTRS, NULL};
static const char *const journald_opts[] = {"tag", ATTRS, NULL};

static const driver_def drivers[] = {
    {"json-file", json_file_opts}, {"local", local_opts},     {"syslog", syslog_opts}, {"gelf", gelf_opts},
    {"fluentd", fluentd_opts},     {"journald", journald_opts}, {"none", NULL},
};

/* Options the daemon handles for every driver (log mode and the cache). */
static bool common_opt(const char *k)
{
    static const char *const common[] = {"mode", "max-buffer-size", "cache-disabled", "cache-max-size",
                                         "cache-max-file", "cache-compress", NULL};
    for (const char *const *c = common; *c; c++)
        if (strcmp(*c, k) == 0)
            return true;
    return false;
}

static const char *opt(json_t *opts, const char *k) { return json_string_value(json_object_get(opts, k)); }

static int validate_address(const char *driver, const char *addr, berr *e)
{
    if (!addr || !*addr)
        return 0;
    const char *sep = strstr(addr, "://");
    if (!sep)
        return strcmp(driver, "fluentd") == 0 ? 0 : berr_set(e, -EINVAL, "unsupported scheme: ''");
    size_t n = (size_t)(sep - addr);
    static const char *const syslog_schemes[] = {"udp", "tcp", "unix", "unixgram", "tcp+tls", NULL};
    static const char *const gelf_schemes[] = {"udp", "tcp", NULL};
    static const char *const fluentd_schemes[] = {"tcp", "unix", NULL};
    const char *const *ok = !strcmp(driver, "syslog") ? syslog_schemes : !strcmp(driver, "gelf") ? gelf_schemes : fluentd_schemes;
    for (const char *const *s = ok; *s; s++)
        if (strlen(*s) == n && strncmp(*s, addr, n) == 0)
            return 0;
    if (!strcmp(driver, "gelf"))
        return berr_set(e, -EINVAL, "gelf: endpoint needs to be TCP or UDP");
    if (!strcmp(driver, "fluentd"))
        return berr_set(e, -EINVAL, "unsupported scheme: '%.*s'", (int)n, addr);
    return berr_set(e, -EINVAL, "unsupported scheme: '%.*s'", (int)n, addr);
}

int rt_log_parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", NULL};
    for (int i = 0; yes[i]; i++)
        if (!strcmp(s, yes[i]))
            return 1;
    for (int i = 0; no[i]; i++)
        if (!strcmp(s, no[i]))
            return 0;
    return -1;
}

static int validate_values(const char *driver, json_t *opts, berr *e)
{
    const char *v;
    if (!strcmp(driver, "local") && (v = opt(opts, "compress")) && rt_log_parse_bool(v) < 0)
        return berr_set(e, -EINVAL, "error reading compress log option: strconv.ParseBool: parsing \"%s\": invalid syntax", v);
    if (!strcmp(driver, "syslog")) {
        if ((v = opt(opts, "syslog-format")) && *v && strcmp(v, "rfc5424") && strcmp(v, "rfc5424micro") && strcmp(v, "rfc3164"))
            return berr_set(e, -EINVAL, "Invalid syslog format: %s", v);
        if ((v = opt(opts, "syslog-facility")) && *v) {
            static const char *const fac[] = {"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
                                              "uucp", "cron", "authpriv", "ftp", "local0", "local1", "local2",
                                              "local3", "local4", "local5", "local6", "local7", NULL};
            bool found = false;
            for (const char *const *f = fac; *f && !found; f++)
                found = strcmp(*f, v) == 0;
            char *end;
            long n = strtol(v, &end, 10);
            if (!found && !(*end == 0 && n >= 0 && n <= 23))
                return berr_set(e, -EINVAL, "invalid syslog facility");
        }
        return validate_address(driver, opt(opts, "syslog-address"), e);
    }
    if (!strcmp(driver, "gelf")) {
        v = opt(opts, "gelf-address");
        if (!v || !*v)
            return berr_set(e, -EINVAL, "gelf-address is a required parameter");
        if ((v = opt(opts, "gelf-compression-type")) && strcmp(v, "gzip") && strcmp(v, "zlib") && strcmp(v, "none"))
            return berr_set(e, -EINVAL, "Unknown gelf compression type: %s", v);
        if ((v = opt(opts, "gelf-compression-level"))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < -1 || n > 9)
                return berr_set(e, -EINVAL, "gelf-compression-level must be a number between -1 and 9, got %s", v);
        }
        return validate_address(driver, opt(opts, "gelf-address"), e);
    }
    if (!strcmp(driver, "fluentd")) {
        if ((v = opt(opts, "fluentd-async")) && strcmp(v, "true") && strcmp(v, "false"))
            return berr_set(e, -EINVAL, "invalid fluentd-async value: %s", v);
        return validate_address(driver, opt(opts, "fluentd-address"), e);
    }
    return 0;
}

int rt_logdriver_validate(const char *driver, json_t *opts, berr *e)
{
    const driver_def *d = NULL;
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
        if (strcmp(drivers[i].name, driver) == 0)
            d = &drivers[i];
    if (!d)
        return berr_set(e, -EINVAL, "logger: no log driver named '%s' is registered", driver);
    const char *mode = opt(opts, "mode");
    if (mode && *mode && strcmp(mode, "blocking") && strcmp(mode, "non-blocking"))
        return berr_set(e, -EINVAL, "logger: logging mode not supported: %s", mode);
    if (opt(opts, "max-buffer-size") && (!mode || strcmp(mode, "non-blocking")))
        return berr_set(e, -EINVAL, "logger: max-buffer-size option is only supported with 'mode=non-blocking'");
    if (!d->opts)
        return 0; /* none takes anything, as with dockerd */
    const char *k;
    json_t *v;
    json_object_foreach(opts, k, v) {
        if (!json_is_string(v))
            return berr_set(e, -EINVAL, "log opt '%s' must be a string", k);
        if (common_opt(k))
            continue;
        bool known = false;
        for (const char *const *o = d->opts; *o && !known; o++)
            known = strcmp(*o, k) == 0;
        if (!known) {
            if (!strcmp(driver, "local"))
                return berr_set(e, -EINVAL, "unknown log opt '%s' for log driver local", k);
            return berr_set(e, -EINVAL, "unknown log opt '%s' for %s log driver", k, driver);
        }
    }
    return validate_values(driver, opts, e);
}

bool rt_logdriver_readable(const char *driver)
{
    return !driver || !*driver || strcmp(driver, "json-file") == 0 || strcmp(driver, "local") == 0;
}
