/* Model file formats, told apart by their first bytes, never by name. */
#ifndef MLWATCH_MODELFMT_H
#define MLWATCH_MODELFMT_H
#include <stdbool.h>
#include <stddef.h>

enum model_format {
	MF_UNKNOWN = 0,       /* no known magic: not confirmed as a model */
	MF_TORCH_ZIP,         /* zip with <name>/data.pkl (torch >= 1.6) */
	MF_TORCH_LEGACY,      /* 80 02 8a 0a 6c fc 9c 46 f9 20 6a a8 50 19 */
	MF_TORCH_TAR,         /* tar holding pickle/storages/sys_info (torch 0.1.x) */
	MF_PICKLE,            /* raw pickle, protocol 0-5 */
	MF_JOBLIB,            /* pickle naming joblib.numpy_pickle */
	MF_JOBLIB_COMPRESSED, /* whole-file zlib/gzip/bz2/xz/lzma/lz4 or joblib ZF */
	MF_NUMPY,             /* \x93NUMPY */
	MF_NUMPY_ZIP,         /* zip of .npy members (npz) */
	MF_KERAS_ZIP,         /* zip with config.json (.keras) */
	MF_ZIP,               /* another zip: may wrap anything */
	MF_HDF5,              /* \x89HDF\r\n\x1a\n (Keras .h5) */
	MF_GGUF,              /* GGUF */
	MF_SAFETENSORS,       /* u64 header length, then '{' */
	MF_ONNX,              /* protobuf ModelProto (only with a .onnx name) */
	MF_SEVENZIP,          /* 7z: unscannable wrapper */
	MF_FORMAT_MAX,
};

/* Bytes the detector wants to see; reading fewer is allowed. */
#define MODELFMT_PROBE_LEN 4096

/* Decide from the first bytes of a file. name_hint (may be NULL) is only used
 * where bytes cannot decide alone (ONNX protobuf). */
enum model_format model_format_detect(const unsigned char *buf, size_t len, const char *name_hint);
/* Opens path (O_RDONLY|O_NOFOLLOW is NOT used: HF snapshots are symlinks),
 * reads MODELFMT_PROBE_LEN bytes and detects. Returns 0 and sets *out, or
 * -errno if the file cannot be read. */
int model_format_detect_file(const char *path, enum model_format *out);
const char *model_format_name(enum model_format f); /* "torch-zip", "pickle", ... */
/* Whether loading this format can run code embedded in the file. */
bool model_format_can_run_code(enum model_format f);
#endif
