/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "lib.h"
int main(void) { puts_("hello from rv64\n"); return 0; }
