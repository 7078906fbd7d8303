/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The `mosaic` program: everything is in libmosaic-core (core/cli/main.c). */
int mosaic_main(int argc, char **argv);

int main(int argc, char **argv)
{
    return mosaic_main(argc, argv);
}

#ifdef __SANITIZE_ADDRESS__
/* The ASan build (scons asan=1).  GCC 12's libasan records the dynamic TLS blocks that
 * __tls_get_addr hands out, and with Debian 12's glibc it can record a bogus one (a
 * block at address 0x1c7): LeakSanitizer's tracer dereferences it in the check at exit
 * and dies ("Tracer caught signal 11", "LeakSanitizer has encountered a fatal error",
 * exit status 1), at random, more often with more plugins loaded.  Not intercepting
 * __tls_get_addr loses nothing: those blocks stay reachable from the thread's DTV,
 * which the leak check scans anyway.  ASAN_OPTIONS still overrides this. */
__attribute__((visibility("default"), used)) const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "intercept_tls_get_addr=0";
}
#endif
