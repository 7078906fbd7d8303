/* An ABI probe, built but never installed.  The structs a plugin hands to the core
 * (its descriptor, its ops tables, its tables of properties, sections, arguments and
 * commands) are parameters of no libmosaic-core function, so abidiff of the library
 * alone would not see them change.  Each one is a parameter of a function exported
 * here; scripts/abi-baseline checks this library beside libmosaic-core. */
#include <mosaic/mosaic.h>
#include <mosaic/job.h>

#define PROBE(T) \
    MOSAIC_EXPORT void mosaic_abi_probe_##T(const T *p); \
    MOSAIC_EXPORT void mosaic_abi_probe_##T(const T *p) { (void)p; }

PROBE(MosaicPluginDesc)
PROBE(MosaicPropDesc)
PROBE(MosaicSectionDesc)
PROBE(MosaicArgDesc)
PROBE(MosaicCommandDesc)
PROBE(MosaicAccelOps)
PROBE(MosaicMachineOps)
PROBE(MosaicDeviceOps)
PROBE(MosaicMmioOps)
PROBE(MosaicBlkDriverOps)
PROBE(MosaicBlkReq)
PROBE(MosaicVirtioDeviceOps)
PROBE(MosaicVirtqElem)
PROBE(MosaicMemSection)
PROBE(MosaicBusSlot)
PROBE(MosaicChardevReceiver)
PROBE(MosaicJobOps)
PROBE(MosaicAudioBackendOps)
PROBE(MosaicAudioStreamSpec)
PROBE(MosaicAudioCallbacks)
PROBE(MosaicNetBackendOps)
PROBE(MosaicNetFrontendOps)
PROBE(MosaicGpuBackendOps)
PROBE(MosaicGpuConfig)
PROBE(MosaicGpuCallbacks)
PROBE(MosaicGpuResource3d)
PROBE(MosaicGpuTransfer)
PROBE(MosaicDebugOps)
PROBE(MosaicExportOps)
