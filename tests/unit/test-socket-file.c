/* SPDX-License-Identifier: GPL-2.0-or-later */
/* MosaicSocketFile carries its size (socket.h): the core writes no byte past the size
 * the caller set, so a plugin built with the first layout keeps working when the
 * struct grows; a caller that set no size is refused, never written past. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <mosaic/socket.h>


/* What a plugin built against the first layout (ABI 1.1) has, with bytes after it that
 * a newer core's bigger struct would cover. */
typedef struct {
    uint32_t size, reserved;
    uint64_t dev, ino;
    unsigned char after[64];
} FirstLayout;

static char *temp_path(const char *name)
{
    g_autofree char *dir = g_dir_make_tmp("mosaic-sock-XXXXXX", NULL);
    g_assert_nonnull(dir);
    return g_build_filename(dir, name, NULL);
}

static void test_first_layout_is_filled_and_nothing_past_it(void)
{
    g_autofree char *path = temp_path("s");
    FirstLayout f;
    memset(&f, 0xa5, sizeof f);
    f.size = 24;
    MosaicError *err = mosaic_error_new();
    int fd = mosaic_socket_listen(path, 4, (MosaicSocketFile *)&f, err);
    g_assert_cmpint(fd, >=, 0);
    struct stat st;
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpuint(f.dev, ==, st.st_dev);
    g_assert_cmpuint(f.ino, ==, st.st_ino);
    g_assert_cmpuint(f.size, ==, 24);
    for (size_t i = 0; i < sizeof f.after; i++)
        g_assert_cmpuint(f.after[i], ==, 0xa5);
    /* What it remembered is enough to remove it at stop. */
    close(fd);
    mosaic_error_free(err);
    mosaic_socket_release(path, (const MosaicSocketFile *)&f);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_autofree char *dir = g_path_get_dirname(path);
    g_rmdir(dir);
}

static void test_remember_keeps_to_the_size(void)
{
    g_autofree char *path = temp_path("s");
    MosaicSocketFile made = MOSAIC_SOCKET_FILE_INIT;
    MosaicError *err = mosaic_error_new();
    int fd = mosaic_socket_listen(path, 4, &made, err);
    g_assert_cmpint(fd, >=, 0);
    FirstLayout f;
    memset(&f, 0xa5, sizeof f);
    f.size = 24;
    mosaic_socket_remember(path, (MosaicSocketFile *)&f);
    g_assert_cmpuint(f.dev, ==, made.dev);
    g_assert_cmpuint(f.ino, ==, made.ino);
    for (size_t i = 0; i < sizeof f.after; i++)
        g_assert_cmpuint(f.after[i], ==, 0xa5);
    close(fd);
    mosaic_error_free(err);
    mosaic_socket_release(path, &made);
    g_autofree char *dir = g_path_get_dirname(path);
    g_rmdir(dir);
}

/* A caller that set no size (or one below the first layout) gets nothing written, an
 * error from listen, and nothing removed at release. */
static void test_missing_size_is_refused(void)
{
    g_autofree char *path = temp_path("s");
    for (uint32_t size = 0; size < 24; size += 8) {
        FirstLayout f;
        memset(&f, 0xa5, sizeof f);
        f.size = size;
        MosaicError *err = mosaic_error_new();
        g_assert_cmpint(mosaic_socket_listen(path, 4, (MosaicSocketFile *)&f, err), ==, -1);
        const char *msg = mosaic_error_message(err);
        g_assert_nonnull(strstr(msg, path));
        g_assert_nonnull(strstr(msg, "MOSAIC_SOCKET_FILE_INIT"));
        mosaic_error_free(err);
        g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS)); /* nothing was bound */
        g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*without its size*");
        mosaic_socket_remember(path, (MosaicSocketFile *)&f);
        g_test_assert_expected_messages();
        g_assert_cmpuint(f.dev, ==, 0xa5a5a5a5a5a5a5a5ull);
        g_assert_cmpuint(f.ino, ==, 0xa5a5a5a5a5a5a5a5ull);
    }
    /* A live socket is not removed through a size-less struct. */
    MosaicSocketFile made = MOSAIC_SOCKET_FILE_INIT;
    MosaicError *err = mosaic_error_new();
    int fd = mosaic_socket_listen(path, 4, &made, err);
    g_assert_cmpint(fd, >=, 0);
    MosaicSocketFile unsized = made;
    unsized.size = 0;
    mosaic_socket_release(path, &unsized);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    mosaic_socket_release(path, &made);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    close(fd);
    mosaic_error_free(err);
    g_autofree char *dir = g_path_get_dirname(path);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/socket-file/first-layout", test_first_layout_is_filled_and_nothing_past_it);
    g_test_add_func("/socket-file/remember-size", test_remember_keeps_to_the_size);
    g_test_add_func("/socket-file/missing-size", test_missing_size_is_refused);
    return g_test_run();
}
