/* The `mosaic` program: everything is in libmosaic-core (core/cli/main.c). */
int mosaic_main(int argc, char **argv);

int main(int argc, char **argv)
{
    return mosaic_main(argc, argv);
}
