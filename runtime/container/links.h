/* Legacy links (--link name:alias), as dockerd keeps them.
 *
 * On the default bridge a link is registered at create in the parent's
 * HostConfig.Links in dockerd's inspect form, "/child:/parent/alias"; at
 * start the child must be running, and the parent gets the child's
 * address, ports and environment as ALIAS_* variables and an /etc/hosts
 * line "IP\talias hostname name".  With a user-defined NetworkMode
 * HostConfig.Links are not registered (dockerd ignores them there): the
 * CLI copies them into the endpoint's Links, which the embedded DNS
 * answers for that container only (netoverlay/sandbox.c).
 *
 * The child is found by name at start: a rename rewrites the links that
 * name either side (rt_links_renamed), as dockerd's link graph follows
 * renames. */
#ifndef BERTH_RUNTIME_CONTAINER_LINKS_H
#define BERTH_RUNTIME_CONTAINER_LINKS_H

#include <jansson.h>

#include "lib/err.h"
#include "runtime/container/container.h"

/* dockerd's opts.ParseLink: "name", "name:alias" or "/name:/parent/alias"
 * into name (no '/') and alias.  -EINVAL "bad format for links: x". */
int rt_link_parse(const char *val, char *name, size_t name_cap, char *alias, size_t alias_cap, berr *e);

/* At create: checks and rewrites c's HostConfig.Links ("could not get
 * container for x", host networking refused as dockerd). */
int rt_links_register(rt_containers *m, rt_container *c, berr *e);

/* At start: the link variables (a new array of "K=V") and /etc/hosts
 * lines (a new string) for c; both empty when c has no links or is not on
 * the default bridge.  -EINVAL "Cannot link to a non running container:
 * /db AS /web/db". */
int rt_links_for_start(rt_containers *m, rt_container *c, json_t **env, char **hosts, berr *e);

/* dockerd's Link.ToEnv for one link: alias the last part of the link
 * name, ports the child's ExposedPorts keys ("80/tcp"), env its Config.Env.
 * Appends to out. */
void rt_link_env(const char *link_name, const char *child_ip, json_t *exposed_ports, json_t *child_env,
                 json_t *out);

/* The names c is also known by as a link child: "/parent/alias" for each
 * container linking to it (docker ps shows them).  New array. */
json_t *rt_links_names_of(rt_containers *m, const rt_container *c);
/* The same for every container at once, for listings (one pass, not one
 * per container): an object of container name -> array of names. */
json_t *rt_links_names_index(rt_containers *m);

/* After c was renamed from old: every "/child:/parent/alias" naming old
 * on either side names c's new name; containers other than c are saved. */
void rt_links_renamed(rt_containers *m, rt_container *c, const char *old);

/* DELETE /containers/{name}?link=1: removes the link /parent/alias.
 * -EINVAL (409 in dockerd's wording) for a name without a parent. */
int rt_link_remove(rt_containers *m, const char *link_name, berr *e);

#endif
