/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checks that EGL can start headless (the surfaceless platform) before virglrenderer
 * tries: virglrenderer 0.10.4 crashes inside virgl_renderer_init() when EGL does not
 * initialise (no GL driver found), so the failure must be caught here, with a message. */
#include <string.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include "egl-probe.h"

bool egl_probe(char *why, size_t len)
{
    const char *exts = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
    if (!exts || !strstr(exts, "EGL_MESA_platform_surfaceless")) {
        snprintf(why, len, "EGL has no surfaceless platform (EGL_MESA_platform_surfaceless)");
        return false;
    }
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_display =
        (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
    EGLDisplay dpy = get_display ? get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY,
                                               NULL)
                                 : EGL_NO_DISPLAY;
    EGLint major, minor;
    if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, &major, &minor)) {
        snprintf(why, len, "EGL did not initialise on the surfaceless platform (error 0x%x)",
                 eglGetError());
        return false;
    }
    /* Left initialised: virglrenderer initialises the same display again (a no-op) and
     * terminates it in cleanup; terminating here unloads the driver in between. */
    return true;
}
