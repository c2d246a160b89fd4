# "oidc" goes last on the passwd and group lines: after "files" (local users always win, and
# pam_oidc refuses an IdP name that is a local user) and after "systemd" when it is there, so that
# systemd's users (root, nobody, DynamicUser=) resolve as before and an IdP name can never shadow
# them. Added when the package is installed (not again on upgrades, so an administrator who took it
# out keeps it out), removed when it is removed or purged. initgroups follows group.
passwd last oidc
group last oidc
