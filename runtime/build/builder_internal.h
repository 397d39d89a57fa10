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
    char *name;                  /* lower case AS name, or NULL */
    char image[DIGEST_BUF];      /* "" until the stage has an image (scratch) */
    json_t *config;              /* the Config being built */
    json_t *args;                /* ARGs declared in the stage: name -> string|null */
    bool cmd_set;
    char *author;                /* MAINTAINER's */
    bool busted;                 /* a cache miss happened: no more lookups */
} stage;

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
};


void bb_next(rt_build *b);
void bb_out(rt_build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *bb_short_id(const char *id);
stage *bb_cur(rt_build *b);
bool bb_cache_hit(rt_build *b, json_t *probe);
void bb_cache_record(rt_build *b, const char *id);
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
/* WORKDIR after its config change: the directory made as a layer if missing; takes probe. */
void bb_workdir_step(rt_build *b, json_t *probe);
/* Kills a RUN container in flight (the client left). */
void bb_kill_run(rt_build *b);
/* FROM: a new stage. */
void bb_from(rt_build *b, const bf_instr *in);

#endif
