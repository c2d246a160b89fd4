/* oidcctl users | groups | user add/del | prune | cache verify/sync. Being written (issue 3). */
#include "config.h"
#include "oidcctl.h"

int cmd_users(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ctl_err("users: not implemented yet");
    return CTL_USAGE;
}

int cmd_groups(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ctl_err("groups: not implemented yet");
    return CTL_USAGE;
}

int cmd_user(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ctl_err("user: not implemented yet");
    return CTL_USAGE;
}

int cmd_prune(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ctl_err("prune: not implemented yet");
    return CTL_USAGE;
}

int cmd_cache(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ctl_err("cache: not implemented yet");
    return CTL_USAGE;
}
