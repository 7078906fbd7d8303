/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A library the plugin below links against; the test tree never installs it where the
 * loader could find it. */
int mosaic_test_gone(void);
__attribute__((visibility("default"))) int mosaic_test_gone(void)
{
    return 1;
}
