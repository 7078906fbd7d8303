/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host port forwards: "tcp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT", comma-separated, as
 * QEMU writes them ("tcp::5555-:22": every host address, the guest's DHCP address). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "user.h"

static bool parse_port(const char *s, int *port)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 65535)
        return false;
    *port = v;
    return true;
}

/* "ADDR:PORT" with ADDR possibly empty. */
static bool parse_hostport(char *s, struct in_addr *addr, struct in_addr def, int *port)
{
    char *colon = strrchr(s, ':');
    if (!colon)
        return false;
    *colon = 0;
    *addr = def;
    if (*s && inet_pton(AF_INET, s, addr) != 1)
        return false;
    return parse_port(colon + 1, port);
}

bool user_add_hostfwds(NetUser *u, const char *spec, struct in_addr guest_default,
                       MosaicError *err)
{
    g_auto(GStrv) rules = g_strsplit(spec, ",", -1);
    for (char **r = rules; *r; r++) {
        g_autofree char *rule = g_strstrip(g_strdup(*r));
        if (!*rule)
            continue;
        char *dash = strchr(rule, '-');
        int is_udp = g_str_has_prefix(rule, "udp:");
        struct in_addr any = {.s_addr = INADDR_ANY}, haddr, gaddr;
        int hport, gport;
        if (!(is_udp || g_str_has_prefix(rule, "tcp:")) || !dash) {
            mosaic_error_set(err, "%s: hostfwd '%s': write tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:"
                             "GUESTPORT (or udp:...)", u->where, *r);
            return false;
        }
        *dash = 0;
        if (!parse_hostport(rule + 4, &haddr, any, &hport) ||
            !parse_hostport(dash + 1, &gaddr, guest_default, &gport)) {
            mosaic_error_set(err, "%s: hostfwd '%s': bad address or port (ports 1-65535)",
                             u->where, *r);
            return false;
        }
        if (slirp_add_hostfwd(u->slirp, is_udp, haddr, hport, gaddr, gport) < 0) {
            mosaic_error_set(err, "%s: hostfwd '%s': cannot listen on host port %d (in use?)",
                             u->where, *r, hport);
            return false;
        }
    }
    return true;
}
