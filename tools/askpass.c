/* oidcctl askpass: SSH_ASKPASS helper for token logins. Being written (issue 4). */
#include "config.h"
#include "oidcctl.h"

int cmd_askpass(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ctl_err("askpass: not implemented yet");
    return CTL_USAGE;
}
