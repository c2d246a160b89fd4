/* oidcctl: the options every subcommand spells the same way (struct ctl_common). */
#include "config.h"
#include "oidcctl.h"

int ctl_common_opt(struct ctl_common *c, int ch, const char *arg)
{
    switch (ch) {
    case 'c':
        c->config = arg;
        return 1;
    case 'p':
        c->provider = arg;
        return 1;
    case 'j':
        c->json = 1;
        return 1;
    default:
        return 0;
    }
}
