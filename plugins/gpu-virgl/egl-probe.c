/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checks that EGL can start headless (the surfaceless platform) before virglrenderer
 * tries: virglrenderer 0.10.4 crashes inside virgl_renderer_init() when EGL does not
 * initialise (no GL driver found), so the failure must be caught here, with a message.
 * It also names the renderer EGL found, so a log can say whether a GPU or llvmpipe
 * draws. */
#include <string.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include "egl-probe.h"

/* The GL_RENDERER string of a throw-away context on `dpy` ("llvmpipe (LLVM 15...)" when
 * Mesa runs on the CPU); "unknown" when no context can be made here (virglrenderer may
 * still manage with its own choice of API). */
static void query_renderer(EGLDisplay dpy, char *renderer, size_t len)
{
    snprintf(renderer, len, "unknown");
    if (!eglBindAPI(EGL_OPENGL_ES_API))
        return;
    static const EGLint attrs[] = {EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE};
    EGLContext ctx = eglCreateContext(dpy, (EGLConfig)0 /* EGL_KHR_no_config_context */,
                                      EGL_NO_CONTEXT, attrs);
    if (ctx == EGL_NO_CONTEXT)
        return;
    /* glGetString through EGL: the plugin does not link a GL library of its own. */
    typedef const unsigned char *(*GetString)(unsigned name);
    GetString get_string = (GetString)eglGetProcAddress("glGetString");
    if (get_string && eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
        const unsigned char *r = get_string(0x1F01 /* GL_RENDERER */);
        if (r)
            snprintf(renderer, len, "%s", (const char *)r);
        eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    }
    eglDestroyContext(dpy, ctx);
}

bool egl_probe(char *why, size_t len, char *renderer, size_t renderer_len)
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
    query_renderer(dpy, renderer, renderer_len);
    /* Left initialised: virglrenderer initialises the same display again (a no-op) and
     * terminates it in cleanup; terminating here unloads the driver in between. */
    return true;
}
