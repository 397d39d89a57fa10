#include "netoverlay/vip.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "netoverlay/ipam/ipam.h"
#include "netoverlay/netns.h"
#include "netoverlay/nft.h"
#include "netoverlay/overlay.h"
#include "netoverlay/sandbox.h"

void net_vip_ruleset(const net_vip *vips, size_t n, buf *out)
{
    buf_puts(out, "add table ip " NFT_TABLE "\n"
                  "delete table ip " NFT_TABLE "\n");
    if (!n)
        return;
    buf_puts(out, "table ip " NFT_TABLE " {\n"
                  "\tchain output {\n"
                  "\t\ttype nat hook output priority -100; policy accept;\n");
    char ip[IPAM_ADDR_BUF];
    for (size_t i = 0; i < n; i++) {
        if (!vips[i].n_backends)
            continue;
        ipam_format_addr(vips[i].vip, ip);
        buf_printf(out, "\t\tip daddr %s dnat to numgen inc mod %zu map { ", ip, vips[i].n_backends);
        for (size_t k = 0; k < vips[i].n_backends; k++) {
            char b[IPAM_ADDR_BUF];
            ipam_format_addr(vips[i].backends[k], b);
            buf_printf(out, "%s%zu : %s", k ? ", " : "", k, b);
        }
        buf_puts(out, " }\n");
    }
    /* After NAT (priority 0 > -100): what still goes to a VIP found no
     * task. */
    buf_puts(out, "\t}\n"
                  "\tchain refuse {\n"
                  "\t\ttype filter hook output priority 0; policy accept;\n");
    for (size_t i = 0; i < n; i++) {
        if (vips[i].n_backends)
            continue;
        ipam_format_addr(vips[i].vip, ip);
        buf_printf(out, "\t\tip daddr %s meta l4proto tcp reject with tcp reset\n"
                        "\t\tip daddr %s reject\n", ip, ip);
    }
    buf_puts(out, "\t}\n}\n");
}

void net_vip_sync(net_sandbox *sb)
{
    size_t cap = 0;
    for (size_t i = 0; i < sb->n_eps; i++)
        if (sb->eps[i]->net->ov)
            cap += sb->eps[i]->net->ov->n_svcs;
    net_vip *vips = xcalloc(cap + 1, sizeof *vips);
    size_t n = 0;
    for (size_t i = 0; i < sb->n_eps; i++) {
        const net_overlay *ov = sb->eps[i]->net->ov;
        for (size_t k = 0; ov && k < ov->n_svcs; k++)
            if (ov->svcs[k].vip)
                vips[n++] = (net_vip){ov->svcs[k].vip, ov->svcs[k].backends, ov->svcs[k].n_backends};
    }
    buf script = BUF_INIT;
    net_vip_ruleset(vips, n, &script);
    free(vips);
    /* Nothing was ever put there and nothing is wanted: no table to remove. */
    if ((!sb->vip_rules && !n) || (sb->vip_rules && !strcmp(sb->vip_rules, script.data))) {
        buf_free(&script);
        return;
    }
    berr e = {0};
    int saved;
    int r = netns_enter(sb->ns_fd, &saved, &e);
    if (r == 0) {
        r = nft_run_here(script.data, &e);
        netns_leave(saved);
    }
    if (r < 0) {
        log_warn("container %.12s: service VIPs: %s", sb->container_id, e.msg);
        buf_free(&script);
        return;
    }
    free(sb->vip_rules);
    sb->vip_rules = buf_steal(&script);
}
