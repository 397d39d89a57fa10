/* Random container names in Docker's "adjective_surname" shape. */
#include "runtime/container/internal.h"

#include <sodium.h>
#include <stdio.h>

static const char *const adjectives[] = {
    "agile",    "amber",    "ancient", "bold",     "brave",    "breezy",  "bright",   "busy",    "calm",
    "candid",   "cheerful", "clever",  "cosmic",   "crisp",    "curious", "daring",   "deft",    "eager",
    "earnest",  "elated",   "epic",    "fearless", "fervent",  "festive", "fleet",    "frosty",  "gallant",
    "gentle",   "gifted",   "glad",    "golden",   "graceful", "hardy",   "hopeful",  "humble",  "jolly",
    "keen",     "kind",     "lively",  "loyal",    "lucid",    "lunar",   "merry",    "mighty",  "modest",
    "nimble",   "noble",    "patient", "placid",   "plucky",   "polite",  "proud",    "quick",   "quiet",
    "radiant",  "rapid",    "serene",  "sharp",    "shiny",    "silent",  "sleek",    "smooth",  "snowy",
    "solar",    "spry",     "stoic",   "sturdy",   "sunny",    "swift",   "tender",   "tidy",    "tranquil",
    "upbeat",   "valiant",  "vivid",   "warm",     "wise",     "witty",   "zealous",  "zen",
};

/* People who shaped computing, mathematics and science. */
static const char *const surnames[] = {
    "agnesi",   "babbage",  "backus",   "bardeen",  "bell",     "bernoulli", "boole",    "borg",    "cantor",
    "carson",   "cerf",     "church",   "clarke",   "codd",     "conway",    "cori",     "curie",   "darwin",
    "dijkstra", "dirac",    "easley",   "euclid",   "euler",    "faraday",   "fermat",   "feynman", "franklin",
    "galileo",  "gauss",    "goldberg", "goodall",  "hamilton", "hawking",   "hertz",    "hilbert", "hopper",
    "hypatia",  "jackson",  "johnson",  "kare",     "kepler",   "knuth",     "kowalevski", "lamarr", "lamport",
    "leavitt",  "liskov",   "lovelace", "maxwell",  "mayer",    "mcclintock", "meitner", "mendel",  "mirzakhani",
    "morse",    "napier",   "newton",   "noether",  "pascal",   "perlman",   "planck",   "poincare", "ramanujan",
    "ritchie",  "sammet",   "shannon",  "sinoussi", "stallman", "tesla",     "thompson", "torvalds", "turing",
    "vaughan",  "volta",    "wilson",   "wing",     "wozniak",  "yonath",
};

#define N(a) (sizeof a / sizeof a[0])

void rt_name_random(char *out, size_t n, bool with_digit)
{
    const char *a = adjectives[randombytes_uniform(N(adjectives))];
    const char *s = surnames[randombytes_uniform(N(surnames))];
    if (with_digit)
        snprintf(out, n, "%s_%s%u", a, s, randombytes_uniform(10));
    else
        snprintf(out, n, "%s_%s", a, s);
}

void rt_name_generate(rt_containers *m, char *out, size_t n)
{
    for (int attempt = 0;; attempt++) {
        rt_name_random(out, n, attempt >= 10);
        if (!rt_container_by_name(m, out))
            return;
    }
}
