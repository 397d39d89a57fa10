/* The builder's state, shared by builder.c (lifecycle, stages, cache,
 * output) and steps.c (one function per instruction).  Not for other
 * modules. */
#ifndef BERTH_RUNTIME_BUILD_BUILDER_INTERNAL_H
#define BERTH_RUNTIME_BUILD_BUILDER_INTERNAL_H

#include <limits.h>

#include "runtime/build/builder.h"
#include "runtime/build/copy.h"
#include "lib/buf.h"
#include "runtime/build/parser.h"
#include "runtime/container/io.h"

typedef struct stage {
    char *name;                  /* lower case AS name, or NULL (known from the plan on) */
    char image[DIGEST_BUF];      /* "" until the stage has an image (scratch) */
    json_t *config;              /* the Config being built */
    json_t *args;                /* ARGs declared in the stage: name -> string|null */
    bool cmd_set;
    char *author;                /* MAINTAINER's */
    bool busted;                 /* a cache miss happened: no more lookups */
    bool done;                   /* its lane ended well: image and config are final */
} stage;

/* The build (the handle rt_build_start returns) and each of its lanes are
 * an rt_build.  The build reads the context and plans; then every stage is
 * a lane (lanes.c), an rt_build of its own whose shared members (options,
 * Dockerfile, stages, cache, context, args) are the build's, borrowed.
 * Lanes run side by side; their output reaches the client in the order a
 * sequential build would give it. */
struct rt_build {
    rt_containers *m;
    rt_build_opts o;             /* strings below owned */
    char **tags;
    rt_build_cb cb;
    bool gone;                   /* the client left */
    bool stopped;                /* POST /build/cancel: end at the next point, with an error */
    char dir[PATH_MAX];          /* the build's own files (layers' tars) */
    bc_tree *tree;               /* the context, indexed (never unpacked) */
    char *df_text;
    size_t df_len;
    bf_file df;
    size_t idx;                  /* next instruction */
    size_t step, total, last;    /* last: index of the first instruction after the target stage */
    stage *stages;
    size_t n_stages;
    json_t *meta_args;           /* ARGs before the first FROM */
    json_t *used_args;           /* build args some ARG consumed */
    json_t *cache;
    char cache_path[PATH_MAX];
    bc_filehash *hashes;         /* the context's file digests, read once per build */
    bf_instr *triggers;          /* ONBUILD triggers of the current FROM */
    size_t n_triggers, trig_idx;
    /* the step in flight */
    uv_work_t work;
    int wstatus;
    berr we;
    bc_copy copy;
    bool copy_tar;
    char tar[PATH_MAX];
    char key[DIGEST_BUF];
    json_t *probe;
    char run_id[DIGEST_HEX_LEN + 1];
    char *run_cmd;
    rt_io_sink sink;
    struct rt_waiter *waiter;
    const bf_instr *copy_in;
    int exit_code;               /* a failed RUN's */
    void *pulling;               /* a FROM image's pull in flight (the puller's handle) */
    const bf_instr *pull_from;   /* the FROM it is for: run again when it is done */
    json_t *pulled;              /* names pulled by this build: name -> true */
    void *fetching;              /* an ADD <url>'s download in flight (reg_fetch) */
    size_t fetch_idx;            /* the ADD's source it is for */
    /* a lane's own */
    rt_build *root;              /* the build; NULL in the build itself */
    size_t si;                   /* the lane's stage */
    json_t *held;                /* output while an earlier lane runs: ["s<text>" | "a<image id>"] */
    bool ended;
    int end_status;
    berr end_err;
    const bf_instr *parked;      /* the step waiting (park_on: for that stage to be done; -1: to be the head) */
    long park_on;
    const bf_instr *resume;      /* the parked step, woken: dispatched from the loop */
    /* the build's own */
    rt_build **lanes;
    size_t n_lanes, started, running, head, max_running;
    bool failing, advancing, again, finished;
};


void bb_next(rt_build *b);
/* The end of a lane (finish's counterpart: lanes.c). */
void bb_lane_end(rt_build *l, int status, const berr *e);
/* Splits the planned build into lanes and starts them. */
void bb_lanes_start(rt_build *b);
/* Cancel or stop (rt_build_cancel, rt_build_stop) reaching every lane. */
void bb_lanes_cancel(rt_build *b, bool stop);
void bb_lanes_free(rt_build *b);
/* Output of a lane in order: the client's now when it is the head. */
void bb_emit(rt_build *b, char kind, const char *text);
bool bb_lane_is_head(const rt_build *b);
/* The stage an earlier stage's name or index refers to (for FROM and
 * COPY --from), or -1. */
long bb_stage_ref(const rt_build *b, const char *ref, bool by_index);
/* Holds in until stage `on` is done (on >= 0) or the lane is the head
 * (on = -1), then dispatches it again. */
void bb_park(rt_build *b, const bf_instr *in, long on);
/* A stop or cancel that cuts a lane short: kills its RUN, stops its pull. */
void bb_interrupt(rt_build *b);
void bb_out(rt_build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *bb_short_id(const char *id);
stage *bb_cur(rt_build *b);
bool bb_cache_hit(rt_build *b, json_t *probe);
/* Records the step's image under b->key; returns the image the stage
 * goes on from (another lane's, when it recorded the same step first). */
const char *bb_cache_record(rt_build *b, const char *id);
void bb_fail(rt_build *b, const berr *e);
void bb_failf(rt_build *b, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
json_t *bb_stage_env(rt_build *b, bool with_args);
/* Runs one instruction of the current stage; calls bb_next or bb_fail. */
void bb_dispatch(rt_build *b, const bf_instr *in);
/* ARG words into `into` (a stage's args or the meta args); text gets
 * " name=value" per word for the history. */
int bb_arg(rt_build *b, const bf_instr *in, json_t *into, json_t *env, buf *text, berr *e);
/* The step's config with Cmd as the history shows it: shell "#(nop) " text. */
json_t *bb_nop_probe(const json_t *config, const char *text);
/* Commits the stage's config (with layer_tar as a new layer); probed: the
 * cache was already asked (b->key set). Takes probe. */
void bb_commit_step(rt_build *b, json_t *probe, const char *layer_tar, bool probed);
void bb_copy_step(rt_build *b, const bf_instr *in);
/* Stops an ADD's download in flight (no callback) and drops the step. */
void bb_copy_cancel_fetch(rt_build *b);
/* WORKDIR after its config change: the directory made as a layer if missing; takes probe. */
void bb_workdir_step(rt_build *b, json_t *probe);
/* Kills a RUN container in flight (the client left). */
void bb_kill_run(rt_build *b);
/* FROM: a new stage. */
void bb_from(rt_build *b, const bf_instr *in);

#endif
