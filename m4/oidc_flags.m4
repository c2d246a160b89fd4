# OIDC_PROBE_CFLAGS(VAR, FLAGS): append to VAR each flag the C compiler accepts without a warning.
AC_DEFUN([OIDC_PROBE_CFLAGS], [
  AC_LANG_PUSH([C])
  for oidc_flag in m4_normalize([$2]); do
    AS_VAR_PUSHDEF([oidc_cv], [oidc_cv_cflag_$oidc_flag])
    AC_CACHE_CHECK([whether $CC accepts $oidc_flag], [oidc_cv], [
      oidc_save_CFLAGS=$CFLAGS
      CFLAGS="$CFLAGS -Werror $oidc_flag"
      AS_CASE([$CC], [*clang*], [CFLAGS="$CFLAGS -Werror=unknown-warning-option"])
      AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [return 0;])], [AS_VAR_SET([oidc_cv], [yes])], [AS_VAR_SET([oidc_cv], [no])])
      CFLAGS=$oidc_save_CFLAGS])
    AS_VAR_IF([oidc_cv], [yes], [$1="${$1} $oidc_flag"])
    AS_VAR_POPDEF([oidc_cv])
  done
  AC_LANG_POP([C])
])

# OIDC_PROBE_LDFLAGS(VAR, FLAGS): append to VAR each flag the linker accepts.
AC_DEFUN([OIDC_PROBE_LDFLAGS], [
  for oidc_flag in m4_normalize([$2]); do
    AS_VAR_PUSHDEF([oidc_cv], [oidc_cv_ldflag_$oidc_flag])
    AC_CACHE_CHECK([whether the linker accepts $oidc_flag], [oidc_cv], [
      oidc_save_LDFLAGS=$LDFLAGS
      LDFLAGS="$LDFLAGS -Werror $oidc_flag"
      AC_LINK_IFELSE([AC_LANG_PROGRAM([], [return 0;])], [AS_VAR_SET([oidc_cv], [yes])], [AS_VAR_SET([oidc_cv], [no])])
      LDFLAGS=$oidc_save_LDFLAGS])
    AS_VAR_IF([oidc_cv], [yes], [$1="${$1} $oidc_flag"])
    AS_VAR_POPDEF([oidc_cv])
  done
])
