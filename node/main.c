/* berthd: parse the configuration, start the daemon, run the loop. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "git_commit.h"
#include "lib/log.h"
#include "node/config.h"
#include "node/daemon.h"
#include "raft/cluster_store.h"

int main(int argc, char **argv)
{
    berth_daemon d = {0};
    berr e = {0};
    if (config_load(&d.cfg, argc, argv, &e) < 0) {
        fprintf(stderr, "berthd: %s\nSee 'berthd --help'.\n", e.msg);
        daemon_free(&d);
        return 1;
    }
    if (d.cfg.show_help) {
        config_usage();
        daemon_free(&d);
        return 0;
    }
    if (d.cfg.show_version) {
        printf("Berth version %s, build %s\n", BERTH_VERSION, BERTH_GIT_COMMIT);
        daemon_free(&d);
        return 0;
    }
    log_set_json(strcmp(d.cfg.log_format, "json") == 0);
    if (d.cfg.validate) {
        daemon_warn_ignored(&d.cfg);
        printf("configuration OK\n");
        daemon_free(&d);
        return 0;
    }
    log_set_level(config_log_level(&d.cfg));
    if (sodium_init() < 0) {
        log_msg(LOG_FATAL, "libsodium failed to initialize");
        return 1;
    }
    /* Writes to a client that went away must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t *loop = uv_default_loop();
    log_info("Starting up berthd %s", BERTH_VERSION);
    daemon_warn_ignored(&d.cfg);
    if (daemon_start(&d, loop, &e) < 0) {
        log_msg(LOG_FATAL, "failed to start daemon: %s", e.msg);
        daemon_free(&d);
        return 1;
    }
    uv_run(loop, UV_RUN_DEFAULT);
    cluster_store_reap();
    uv_loop_close(loop);
    daemon_free(&d);
    return 0;
}
