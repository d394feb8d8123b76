/* safetensors_check: files written at test time by /usr/bin/python3 (with
 * the safetensors package when it is installed, else byte for byte as the
 * library writes them: header sorted by dtype then name, "__metadata__"
 * first, compact JSON padded with spaces to 8 bytes), and malformed headers
 * with the messages that name the problem. */
#include <errno.h>
#include <unistd.h>

#include "check.h"
#include "samples.h"
#include "scan/formats/safetensors.h"

static int generated;

static const char gen_py[] =
	"import json, os, struct, sys\n"
	"d = sys.argv[1]\n"
	"BITS = {'BOOL': 8, 'F4': 4, 'F6_E2M3': 6, 'F6_E3M2': 6, 'U8': 8, 'I8': 8, 'F8_E5M2': 8,\n"
	"        'F8_E4M3': 8, 'F8_E8M0': 8, 'I16': 16, 'U16': 16, 'F16': 16, 'BF16': 16,\n"
	"        'I32': 32, 'U32': 32, 'F32': 32, 'C64': 64, 'F64': 64, 'I64': 64, 'U64': 64}\n"
	"ORDER = list(BITS)\n"
	"def save(name, tensors, metadata=None):\n"
	"    # tensors: {name: (dtype, shape)}; data bytes are a counter pattern\n"
	"    items = sorted(tensors.items(), key=lambda kv: (-ORDER.index(kv[1][0]), kv[0]))\n"
	"    header, off, data = {}, 0, b''\n"
	"    if metadata is not None:\n"
	"        header['__metadata__'] = metadata\n"
	"    for n, (dt, shape) in items:\n"
	"        nel = 1\n"
	"        for s in shape:\n"
	"            nel *= s\n"
	"        nb = nel * BITS[dt] // 8\n"
	"        header[n] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + nb]}\n"
	"        data += bytes((off + i) & 0xff for i in range(nb))\n"
	"        off += nb\n"
	"    h = json.dumps(header, separators=(',', ':')).encode()\n"
	"    h += b' ' * ((8 - len(h) % 8) % 8)\n"
	"    with open(os.path.join(d, name), 'wb') as f:\n"
	"        f.write(struct.pack('<Q', len(h)) + h + data)\n"
	"try:\n"
	"    import numpy as np\n"
	"    from safetensors.numpy import save_file\n"
	"    save_file({'a': np.zeros((2, 2), np.float32), 'b': np.arange(3, dtype=np.uint8),\n"
	"               'c': np.zeros((0,), np.float16), 'd': np.array(7, np.int64)},\n"
	"              os.path.join(d, 'ok.safetensors'), metadata={'format': 'np'})\n"
	"except ImportError:\n"
	"    save('ok.safetensors', {'a': ('F32', [2, 2]), 'b': ('U8', [3]), 'c': ('F16', [0]),\n"
	"                            'd': ('I64', [])}, {'format': 'np'})\n"
	"save('nometa.safetensors', {'only': ('F64', [1])})\n"
	"save('dtypes.safetensors', {'t_' + dt: (dt, [8, 3]) for dt in BITS},\n"
	"     {'format': 'pt', 'note': 'every dtype, \\u00e9'})\n"
	"save('empty.safetensors', {})\n";

static int check_file(const char *name, struct st_info *i, char *err, size_t errlen, uint64_t *size)
{
	struct byte_src s;
	int fd, rc;

	*size = 0;
	if ((fd = sample_open(name, &s)) < 0)
		return -100;
	*size = s.size;
	rc = safetensors_check(&s, i, err, errlen);
	close(fd);
	return rc;
}

/* A file from a header text and ndata data bytes. */
static int check_text(const char *json, size_t ndata, struct st_info *i, char *err, size_t errlen)
{
	static uint8_t buf[1 << 16];
	size_t n = strlen(json);
	struct byte_src s;

	if (8 + n + ndata > sizeof(buf))
		return -100;
	for (int k = 0; k < 8; k++)
		buf[k] = (uint8_t)((uint64_t)n >> (8 * k));
	memcpy(buf + 8, json, n);
	memset(buf + 8 + n, 0xab, ndata);
	bsrc_from_mem(&s, buf, 8 + n + ndata);
	return safetensors_check(&s, i, err, errlen);
}

static void test_generated(void)
{
	CHECK(generated == 0);
}

static void test_valid_files(void)
{
	struct st_info i;
	char err[256] = "";
	uint64_t size;

	CHECK(check_file("ok.safetensors", &i, err, sizeof(err), &size) == 0);
	CHECK_STR(err, "");
	CHECK(i.tensors == 4 && i.metadata_keys == 1);
	CHECK(i.data_bytes == 16 + 3 + 0 + 8);
	CHECK(i.header_len % 8 == 0 && 8 + i.header_len + i.data_bytes == size);

	CHECK(check_file("nometa.safetensors", &i, err, sizeof(err), &size) == 0);
	CHECK(i.tensors == 1 && i.metadata_keys == 0 && i.data_bytes == 8);

	/* every dtype, sub-byte ones included (24 F4 elements are 12 bytes) */
	CHECK(check_file("dtypes.safetensors", &i, err, sizeof(err), &size) == 0);
	CHECK_STR(err, "");
	CHECK(i.tensors == 20 && i.metadata_keys == 2);
	CHECK(i.data_bytes == 24 * (8 * 6 + 4 + 6 * 2 + 16 * 4 + 32 * 3 + 64 * 4) / 8);

	CHECK(check_file("empty.safetensors", &i, err, sizeof(err), &size) == 0);
	CHECK(i.tensors == 0 && i.data_bytes == 0 && size == 8 + i.header_len);
}

#define T(name, dt, shape, b, e) \
	"\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void test_forms(void)
{
	struct st_info i;
	char err[256];

	/* any key order, whitespace, null metadata, trailing padding */
	CHECK(check_text("{ \"w\" : {\"data_offsets\": [0, 4], \"shape\": [1], \"dtype\": \"F32\"},\n"
			 "  \"__metadata__\": null }\t\r\n   ",
			 4, &i, err, sizeof(err)) == 0);
	CHECK(i.tensors == 1 && i.metadata_keys == 0);
	/* the header's tensor order does not matter, only the offsets */
	CHECK(check_text("{" T("b", "U8", "[2]", 4, 6) "," T("a", "F16", "[2]", 0, 4) "}", 6, &i,
			 err, sizeof(err)) == 0);
	CHECK(i.tensors == 2 && i.data_bytes == 6);
	/* zero-size tensors anywhere in the run */
	CHECK(check_text("{" T("z", "F32", "[0,5]", 0, 0) "," T("a", "U8", "[1]", 0,
								1) "," T("y", "F64", "[3,0]", 1,
									 1) "}",
			 1, &i, err, sizeof(err)) == 0);
	CHECK(i.tensors == 3);
	/* escaped and non-ASCII names */
	CHECK(check_text("{\"caf\xc3\xa9\\u00e9\\\"x\":{\"dtype\":\"BOOL\",\"shape\":[],"
			 "\"data_offsets\":[0,1]}}",
			 1, &i, err, sizeof(err)) == 0);
}

static void test_malformed(void)
{
	struct st_info i;
	char err[256];
	struct byte_src s;

	CHECK(check_text("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 4, 12) "}", 12, &i,
			 err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'b': data_offsets [4, 12] overlap tensor 'a'");
	CHECK(check_text("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 12, 20) "}", 20,
			 &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'b': data_offsets begin 12 leaves a hole of 4 bytes");
	CHECK(check_text("{" T("a", "F32", "[2]", 4, 12) "}", 12, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': data_offsets begin 4 leaves a hole of 4 bytes");
	CHECK(check_text("{" T("a", "F32", "[3]", 0, 8) "}", 8, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': data_offsets [0, 8] hold 8 bytes, shape and "
		       "dtype need 12");
	CHECK(check_text("{" T("a", "F32", "[2]", 8, 0) "}", 8, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': data_offsets [8, 0] end before begin");
	/* trailing bytes nobody owns, and a tensor past the end */
	CHECK(check_text("{" T("a", "F32", "[2]", 0, 8) "}", 9, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensors cover 8 of the data section's 9 bytes");
	CHECK(check_text("{" T("a", "F32", "[2]", 0, 8) "}", 7, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': data_offsets end 8 runs past the data section "
		       "(7 bytes)");
	CHECK(check_text("{" T("a", "Q8", "[2]", 0, 2) "}", 2, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': unknown dtype 'Q8'");
	CHECK(check_text("{" T("a", "f32", "[2]", 0, 8) "}", 8, &i, err, sizeof(err)) == -EINVAL);
	CHECK(check_text("{" T("a", "F4", "[3]", 0, 2) "}", 2, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': 3 elements of F4 do not fill whole bytes");
	CHECK(check_text("{" T("a", "F64", "[4294967296,4294967296]", 0, 0) "}", 0, &i, err,
			 sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': shape overflows");
	CHECK(check_text("{" T("a", "F64", "[4294967296,4294967296,0]", 0, 0) "}", 0, &i, err,
			 sizeof(err)) == -EINVAL);
	CHECK(check_text("{" T("a", "F64", "[0,4294967296,4294967296]", 0, 0) "}", 0, &i, err,
			 sizeof(err)) == 0);
	CHECK(check_text("{" T("a", "F32", "[-1]", 0, 0) "}", 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: number '-1' at byte 37 is not a non-negative integer");
	CHECK(check_text("{" T("a", "F32", "[2.0]", 0, 8) "}", 8, &i, err, sizeof(err)) == -EINVAL);
	CHECK(check_text("{" T("a", "F32", "[1e0]", 0, 4) "}", 4, &i, err, sizeof(err)) == -EINVAL);
	CHECK(check_text("{" T("a", "F32", "[01]", 0, 4) "}", 4, &i, err, sizeof(err)) == -EINVAL);
	CHECK(check_text("{" T("a", "F32", "[\"2\"]", 0, 8) "}", 8, &i, err, sizeof(err)) ==
	      -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': shape entry is not a non-negative integer");
	CHECK(check_text("{" T("a", "F32", "2", 0, 8) "}", 8, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': shape is not a list");
	CHECK(check_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4,
			 &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': data_offsets is not [begin, end]");
	CHECK(check_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, &i, err, sizeof(err)) ==
	      -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': missing 'data_offsets'");
	CHECK(check_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
			 "\"extra\":1}}",
			 4, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a': unknown key 'extra'");
	CHECK(check_text("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
			 "\"data_offsets\":[0,4]}}",
			 4, &i, err, sizeof(err)) == -EINVAL);
	CHECK(check_text("{" T("a", "U8", "[1]", 0, 1) "," T("a", "U8", "[1]", 1, 2) "}", 2, &i,
			 err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: duplicate tensor name 'a'");
	CHECK(check_text("{\"a\":[1]}", 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: tensor 'a' is not an object");

	/* the header itself */
	CHECK(check_text("[1, 2]", 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: header is not a JSON object");
	CHECK(check_text("{\"a\": }", 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK(strncmp(err, "safetensors: header is not valid JSON", 37) == 0);
	CHECK(check_text("{} x", 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: text after the header object at byte 11");
	CHECK(check_text("{\"a\xff\": 1}", 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: header is not valid UTF-8 at byte 11");
	CHECK(check_text("{\"a\xc0\x80\": 1}", 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK(check_text("{\"a\tb\": 1}", 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: control character in a string at byte 11");
	CHECK(check_text("{\x0b}", 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK(check_text("", 0, &i, err, sizeof(err)) == -EINVAL);

	/* metadata */
	CHECK(check_text("{\"__metadata__\":{\"format\":\"pt\",\"epochs\":3}}", 0, &i, err,
			 sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: __metadata__ value for 'epochs' is not a string");
	CHECK(check_text("{\"__metadata__\":[\"pt\"]}", 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: __metadata__ is not an object");
	CHECK(check_text("{\"__metadata__\":{},\"__metadata__\":{}}", 0, &i, err, sizeof(err)) ==
	      -EINVAL);

	/* the length prefix */
	bsrc_from_mem(&s, "\x10\0\0\0", 4);
	CHECK(safetensors_check(&s, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: file too short (size 4)");
	bsrc_from_mem(&s, "\x10\0\0\0\0\0\0\0{}", 10);
	CHECK(safetensors_check(&s, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: header length 16 runs past end of file (size 10)");
	bsrc_from_mem(&s, "\x01\xe1\xf5\x05\0\0\0\0{}", 10);
	CHECK(safetensors_check(&s, &i, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "safetensors: header length 100000001 exceeds the 100000000 limit");
	bsrc_from_mem(&s, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10);
	CHECK(safetensors_check(&s, &i, err, sizeof(err)) == -EINVAL);
	/* names in messages are made printable */
	CHECK(check_text("{\"\\u001b[31m\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}",
			 0, &i, err, sizeof(err)) == -EINVAL);
	CHECK(strchr(err, 0x1b) == NULL);
	CHECK_STR(err, "safetensors: tensor '\\x1b[31m': unknown dtype 'X'");
}

int main(void)
{
	if (samples_init("st"))
		return 1;
	generated = sample_python(NULL, gen_py);
	RUN(test_generated);
	RUN(test_valid_files);
	RUN(test_forms);
	RUN(test_malformed);
	samples_cleanup();
	return CHECK_DONE();
}
