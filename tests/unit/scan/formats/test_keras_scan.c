/* keras_scan: legacy .h5 files written at test time by /usr/bin/python3 with
 * h5py exactly as Keras 2 lays them out (model_config as a str in the
 * global heap or as bytes inside the attribute, training_config, the
 * model_weights groups), and Keras 3 config.json texts as .keras archives
 * hold them. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "samples.h"
#include "scan/formats/keras_scan.h"

static int generated;

static const char gen_py[] =
	"import base64, codecs, json, marshal, os, sys\n"
	"import h5py\n"
	"import numpy as np\n"
	"os.chdir(sys.argv[1])\n"
	"def dense(name, units, act, first=False):\n"
	"    c = {'name': name, 'trainable': True, 'dtype': 'float32', 'units': units,\n"
	"         'activation': act, 'use_bias': True,\n"
	"         'kernel_initializer': {'class_name': 'GlorotUniform', 'config': {'seed': None}},\n"
	"         'bias_initializer': {'class_name': 'Zeros', 'config': {}},\n"
	"         'kernel_regularizer': None, 'bias_regularizer': None,\n"
	"         'activity_regularizer': None, 'kernel_constraint': None, 'bias_constraint': None}\n"
	"    if first:\n"
	"        c['batch_input_shape'] = [None, 4]\n"
	"    return {'class_name': 'Dense', 'config': c}\n"
	"def inp():\n"
	"    return {'class_name': 'InputLayer', 'config': {'batch_input_shape': [None, 4],\n"
	"            'dtype': 'float32', 'sparse': False, 'ragged': False, 'name': 'dense_input'}}\n"
	"def seq(layers):\n"
	"    return {'class_name': 'Sequential', 'config': {'name': 'sequential', 'layers': layers}}\n"
	"def lam():\n"
	"    # func_dump: base64 (with line breaks) of the marshalled code, never run\n"
	"    code = codecs.encode(marshal.dumps((lambda x: x * 2).__code__), 'base64').decode('ascii')\n"
	"    return {'class_name': 'Lambda', 'config': {'name': 'lambda', 'trainable': True,\n"
	"            'dtype': 'float32', 'function': [code, None, None], 'function_type': 'lambda',\n"
	"            'module': '__main__', 'output_shape': None, 'output_shape_type': 'raw',\n"
	"            'output_shape_module': None, 'arguments': {}}}\n"
	"def save(path, cfg, as_bytes=False, pre=None, weights=True, big=0):\n"
	"    with h5py.File(path, 'w') as f:\n"
	"        if big:\n"
	"            f.create_dataset('padding', data=np.arange(big, dtype='<u4'))\n"
	"        if pre:\n"
	"            for k, v in pre:\n"
	"                f.attrs[k] = v\n"
	"        f.attrs['backend'] = 'tensorflow'\n"
	"        f.attrs['keras_version'] = '2.11.0'\n"
	"        if cfg is not None:\n"
	"            t = json.dumps(cfg)\n"
	"            f.attrs['model_config'] = t.encode('utf8') if as_bytes else t\n"
	"            f.attrs['training_config'] = json.dumps({'loss': 'binary_crossentropy',\n"
	"                'metrics': None, 'weighted_metrics': None, 'loss_weights': None,\n"
	"                'optimizer_config': {'class_name': 'Adam', 'config': {'name': 'Adam',\n"
	"                'learning_rate': 0.001, 'beta_1': 0.9, 'amsgrad': False}}})\n"
	"        if not weights:\n"
	"            return\n"
	"        g = f.create_group('model_weights')\n"
	"        names = ['dense', 'dense_1']\n"
	"        g.attrs['layer_names'] = np.array([n.encode() for n in names])\n"
	"        g.attrs['backend'] = 'tensorflow'\n"
	"        g.attrs['keras_version'] = '2.11.0'\n"
	"        for n, shape in zip(names, [(4, 8), (8, 1)]):\n"
	"            lg = g.create_group(n)\n"
	"            lg.attrs['weight_names'] = np.array([(n + '/kernel:0').encode(),\n"
	"                                                 (n + '/bias:0').encode()])\n"
	"            sg = lg.create_group(n)\n"
	"            sg.create_dataset('kernel:0', data=np.ones(shape, dtype='<f4'))\n"
	"            sg.create_dataset('bias:0', data=np.zeros(shape[1], dtype='<f4'))\n"
	"clean = seq([inp(), dense('dense', 8, 'relu', True), dense('dense_1', 1, 'sigmoid')])\n"
	"evil = seq([inp(), dense('dense', 8, 'relu', True), lam(), dense('dense_1', 1, 'sigmoid')])\n"
	"save('clean.h5', clean)\n"
	"save('clean_bytes.h5', clean, as_bytes=True)\n"
	"save('lambda.h5', evil)\n"
	"save('lambda_bytes.h5', evil, as_bytes=True)\n"
	"save('noconfig.h5', None)\n"
	"save('decoy.h5', evil, pre=[('a_note', '{\"class_name\": \"broken\", \"config\": {'),\n"
	"                            ('b_note', '{ \"class_name\" :[1, 2}}'),\n"
	"                            ('c_note', '{\"class_name\": \"x\\\\\" } {\", \"config\": 1 x}')])\n"
	"many = [inp()] + [dense('dense_%d' % i, 8, 'relu') for i in range(300)] + [lam()]\n"
	"save('far.h5', seq(many), big=600000)\n"
	"save('noweights.h5', clean, weights=False)\n";

static int scan_file(const char *name, struct keras_result *r, char *err, size_t errlen,
		     uint64_t *nread)
{
	struct byte_src s;
	int fd, rc;

	if ((fd = sample_open(name, &s)) < 0)
		return -100;
	s.bytes_read = nread;
	rc = keras_scan_hdf5(&s, r, err, errlen);
	close(fd);
	return rc;
}

static const struct keras_hit *find(const struct keras_result *r, const char *what)
{
	for (size_t i = 0; i < r->nhits; i++)
		if (!strcmp(r->hits[i].what, what))
			return &r->hits[i];
	return NULL;
}

static void test_generated(void)
{
	CHECK(generated == 0);
}

static void test_h5_clean(void)
{
	const char *files[] = { "clean.h5", "clean_bytes.h5", "noweights.h5" };
	struct keras_result r;
	char err[256];

	for (size_t i = 0; i < 3; i++) {
		CHECK(scan_file(files[i], &r, err, sizeof(err), NULL) == 0);
		CHECK(r.config_found);
		CHECK(r.nhits == 0);
		CHECK(r.layers == 3);
		CHECK_STR(err, "");
	}
}

static void test_h5_lambda(void)
{
	const char *files[] = { "lambda.h5", "lambda_bytes.h5", "decoy.h5" };
	struct keras_result r;
	const struct keras_hit *h;
	char err[256];

	for (size_t i = 0; i < 3; i++) {
		CHECK(scan_file(files[i], &r, err, sizeof(err), NULL) == 0);
		CHECK(r.config_found);
		CHECK(r.layers == 4);
		CHECK(r.nhits == 1);
		CHECK((h = find(&r, "lambda-layer")) != NULL);
		if (h) {
			CHECK(h->malicious);
			CHECK_STR(h->layer, "lambda");
			CHECK_STR(h->class_name, "Lambda");
			CHECK_STR(h->module, "");
		}
	}
}

/* The config after 2.4 MB of weights: found across chunk boundaries. */
static void test_h5_far(void)
{
	struct keras_result r;
	const struct keras_hit *h;
	char err[256];
	uint64_t nread = 0;

	CHECK(scan_file("far.h5", &r, err, sizeof(err), &nread) == 0);
	CHECK(r.config_found);
	CHECK(r.layers == 302);
	CHECK((h = find(&r, "lambda-layer")) != NULL && h->malicious);
	CHECK(nread > 2400000);
}

static void test_h5_no_config(void)
{
	struct keras_result r;
	char err[256];

	CHECK(scan_file("noconfig.h5", &r, err, sizeof(err), NULL) == 0);
	CHECK(!r.config_found);
	CHECK(r.nhits == 0 && r.layers == 0);
}

static int scan_mem(const char *p, size_t n, struct keras_result *r, char *err, size_t errlen)
{
	struct byte_src s;

	bsrc_from_mem(&s, p, n);
	return keras_scan_hdf5(&s, r, err, errlen);
}

#define SIG "\x89HDF\r\n\x1a\n"

static void test_h5_handmade(void)
{
	static const char lam[] = SIG
		"\0\0junk{\"class_name\"" /* a key alone */ "\0\0"
		"{\n\t\"class_name\"\n:\"Sequential\",\"config\":{\"layers\":[{\"class_name\":"
		"\"Lambda\",\"config\":{\"name\":\"l}\\\"{\",\"function\":[\"4wEAAA==\",null,null]}}]}}"
		"\0\0";
	struct keras_result r;
	const struct keras_hit *h;
	char err[256], *big;
	size_t n;

	CHECK(scan_mem(lam, sizeof(lam) - 1, &r, err, sizeof(err)) == 0);
	CHECK(r.config_found && r.layers == 1);
	CHECK((h = find(&r, "lambda-layer")) != NULL && h->malicious);
	if (h)
		CHECK_STR(h->layer, "l}\"{");

	CHECK(scan_mem("not hdf5 {\"class_name\": \"X\"}", 29, &r, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "not an HDF5 file (no signature)");

	/* an unclosed candidate at the very end */
	CHECK(scan_mem(SIG "{\"class_name\": \"X\", \"config\": {", 39, &r, err, sizeof(err)) == 0);
	CHECK(!r.config_found);

	/* a superblock after a 512-byte user block */
	n = 512 + sizeof(lam) - 1;
	big = calloc(1, n);
	if (!big)
		return;
	memcpy(big + 512, lam, sizeof(lam) - 1);
	CHECK(scan_mem(big, n, &r, err, sizeof(err)) == 0);
	CHECK(r.config_found && r.nhits == 1);
	free(big);

	/* a file of nothing but decoys is refused, not searched forever */
	n = 8 + 300 * 16;
	big = malloc(n);
	if (!big)
		return;
	memcpy(big, SIG, 8);
	for (size_t i = 8; i + 16 <= n; i += 16)
		memcpy(big + i, "{\"class_name\":{ ", 16);
	CHECK(scan_mem(big, n, &r, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "gave up after") != NULL);
	free(big);
}

/* ---- config texts ------------------------------------------------------ */

static int cfg(const char *json, struct keras_result *r, char *err, size_t errlen)
{
	return keras_check_config(json, strlen(json), r, err, errlen);
}

/* Keras 3 config.json of a clean Sequential model. */
static const char k3_clean[] =
	"{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": "
	"\"sequential\", \"trainable\": true, \"dtype\": {\"module\": \"keras\", \"class_name\": "
	"\"DTypePolicy\", \"config\": {\"name\": \"float32\"}, \"registered_name\": null}, "
	"\"layers\": [{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"config\": "
	"{\"batch_shape\": [null, 4], \"dtype\": \"float32\", \"sparse\": false, \"name\": "
	"\"input_layer\"}, \"registered_name\": null}, {\"module\": \"keras.layers\", "
	"\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"trainable\": true, "
	"\"units\": 8, \"activation\": \"relu\", \"use_bias\": true, \"kernel_initializer\": "
	"{\"module\": \"keras.initializers\", \"class_name\": \"GlorotUniform\", \"config\": "
	"{\"seed\": null}, \"registered_name\": null}}, \"registered_name\": null, "
	"\"build_config\": {\"input_shape\": [null, 4]}}], \"build_input_shape\": [null, 4]}, "
	"\"registered_name\": null, \"build_config\": {\"input_shape\": [null, 4]}, "
	"\"compile_config\": {\"optimizer\": {\"module\": \"keras.optimizers\", \"class_name\": "
	"\"Adam\", \"config\": {\"name\": \"adam\", \"learning_rate\": 0.001}, "
	"\"registered_name\": null}, \"loss\": \"mse\"}}";

static void test_k3_clean(void)
{
	struct keras_result r;
	char err[256];

	CHECK(cfg(k3_clean, &r, err, sizeof(err)) == 0);
	CHECK(r.config_found);
	CHECK(r.layers == 2);
	CHECK(r.nhits == 0);
	CHECK_STR(err, "");
	/* KerasHub backbones name their own package */
	CHECK(cfg("{\"module\": \"keras_hub.src.models.gemma.gemma_backbone\", \"class_name\": "
		  "\"GemmaBackbone\", \"config\": {\"name\": \"gemma_backbone\"}, "
		  "\"registered_name\": \"keras_hub>GemmaBackbone\"}",
		  &r, err, sizeof(err)) == 0);
	CHECK(r.nhits == 0);
}

static void test_k3_lambda(void)
{
	struct keras_result r;
	const struct keras_hit *h;
	char err[256];

	CHECK(cfg("{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": "
		  "\"s\", \"layers\": [{\"module\": \"keras.layers\", \"class_name\": \"Lambda\", "
		  "\"config\": {\"name\": \"lambda\", \"function\": {\"class_name\": \"__lambda__\", "
		  "\"config\": {\"code\": \"4wEAAAAAAAAA\", \"defaults\": null, \"closure\": null}}, "
		  "\"arguments\": {}}, \"registered_name\": null}]}}",
		  &r, err, sizeof(err)) == 0);
	CHECK(r.nhits == 1);
	CHECK((h = find(&r, "lambda-layer")) != NULL);
	if (h) {
		CHECK(h->malicious);
		CHECK_STR(h->layer, "lambda");
		CHECK_STR(h->module, "keras.layers");
	}
	/* a Lambda naming a function: custom code, but not bytecode */
	CHECK(cfg("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
		  "\"Lambda\", \"config\": {\"name\": \"l2\", \"function\": \"my_fn\", "
		  "\"function_type\": \"function\", \"module\": \"mymod\"}}]}}",
		  &r, err, sizeof(err)) == 0);
	CHECK((h = find(&r, "lambda-layer")) != NULL && !h->malicious);
	/* a marshalled output_shape function */
	CHECK(cfg("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
		  "\"Lambda\", \"config\": {\"name\": \"l3\", \"function\": \"f\", \"output_shape\": "
		  "[\"4wEAAAAA\\nAAAA\\n\", null, null], \"output_shape_type\": \"lambda\"}}]}}",
		  &r, err, sizeof(err)) == 0);
	CHECK((h = find(&r, "lambda-layer")) != NULL && h->malicious);
	/* a __lambda__ used as an activation, outside any Lambda layer */
	CHECK(cfg("{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"class_name\": "
		  "\"Dense\", \"config\": {\"name\": \"d\", \"activation\": {\"class_name\": "
		  "\"__lambda__\", \"config\": {\"code\": \"4wEA\"}}}}]}}",
		  &r, err, sizeof(err)) == 0);
	CHECK((h = find(&r, "lambda-function")) != NULL && h->malicious);
	if (h)
		CHECK_STR(h->layer, "d");
}

/* Wrappers and models inside models. */
static void test_nested_layers(void)
{
	struct keras_result r;
	const struct keras_hit *h;
	char err[256];

	CHECK(cfg("{\"class_name\": \"Functional\", \"config\": {\"name\": \"outer\", \"layers\": ["
		  "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"in\"}},"
		  "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"inner\", \"layers\": ["
		  "{\"class_name\": \"TimeDistributed\", \"config\": {\"name\": \"td\", \"layer\": "
		  "{\"class_name\": \"Lambda\", \"config\": {\"name\": \"deep_lambda\", \"function\": "
		  "[\"4wEAAAAAAAAAAAAAAAAB\", null, null]}}}}]}},"
		  "{\"class_name\": \"Bidirectional\", \"config\": {\"name\": \"bi\", \"layer\": "
		  "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"fwd\"}}, \"backward_layer\": "
		  "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"bwd\"}}}}]}}",
		  &r, err, sizeof(err)) == 0);
	CHECK(r.layers == 7);
	CHECK(r.nhits == 1);
	CHECK((h = find(&r, "lambda-layer")) != NULL && h->malicious);
	if (h)
		CHECK_STR(h->layer, "deep_lambda");
}

static void test_foreign_modules(void)
{
	struct keras_result r;
	const struct keras_hit *h;
	char err[256];

	/* CVE-2025-1550 shape: a function from os as a layer argument */
	CHECK(cfg("{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"layers\": "
		  "[{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": "
		  "\"dense\", \"activation\": {\"module\": \"os\", \"class_name\": \"function\", "
		  "\"config\": \"system\", \"registered_name\": \"function\"}}}]}}",
		  &r, err, sizeof(err)) == 0);
	CHECK(r.nhits == 1);
	CHECK((h = find(&r, "foreign-module")) != NULL);
	if (h) {
		CHECK(h->malicious);
		CHECK_STR(h->module, "os");
		CHECK_STR(h->class_name, "function:system");
		CHECK_STR(h->layer, "dense");
	}
	CHECK(cfg("{\"module\": \"subprocess\", \"class_name\": \"Popen\", \"config\": {}}", &r,
		  err, sizeof(err)) == 0);
	CHECK((h = find(&r, "foreign-module")) != NULL && h->malicious);
	CHECK(cfg("{\"class_name\": \"Model\", \"config\": {\"layers\": [{\"module\": "
		  "\"importlib.util\", \"class_name\": \"X\", \"config\": {\"name\": \"x\"}}]}}",
		  &r, err, sizeof(err)) == 0);
	CHECK((h = find(&r, "foreign-module")) != NULL && h->malicious);
	/* a package that only looks like keras */
	CHECK(cfg("{\"module\": \"kerasx.layers\", \"class_name\": \"Dense\", \"config\": {}}", &r,
		  err, sizeof(err)) == 0);
	CHECK((h = find(&r, "foreign-module")) != NULL && !h->malicious);
	/* a custom function from the user's own module: suspicious */
	CHECK(cfg("{\"class_name\": \"Model\", \"config\": {\"layers\": [{\"module\": "
		  "\"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"d\", "
		  "\"activation\": {\"module\": \"mylib.acts\", \"class_name\": \"function\", "
		  "\"config\": \"swishy\", \"registered_name\": \"function\"}}}]}}",
		  &r, err, sizeof(err)) == 0);
	CHECK((h = find(&r, "foreign-module")) != NULL && !h->malicious);
	if (h)
		CHECK_STR(h->class_name, "function:swishy");
	/* registered custom objects: Keras 3 registered_name and Keras 2 names */
	CHECK(cfg("{\"class_name\": \"Model\", \"config\": {\"layers\": [{\"module\": \"keras\", "
		  "\"class_name\": \"MyLayer\", \"config\": {\"name\": \"m\"}, \"registered_name\": "
		  "\"MyPkg>MyLayer\"}, {\"class_name\": \"Other>Thing\", \"config\": {}}]}}",
		  &r, err, sizeof(err)) == 0);
	CHECK(r.nhits == 2);
	CHECK((h = find(&r, "custom-object")) != NULL && !h->malicious);
	if (h)
		CHECK_STR(h->class_name, "MyPkg>MyLayer");
}

static void test_config_errors(void)
{
	struct keras_result r;
	char err[256], *deep;
	size_t off = 0;

	CHECK(cfg("{\"class_name\": \"Sequential\", \"config\": ", &r, err, sizeof(err)) ==
	      -EINVAL);
	CHECK_STR(err, "config is not valid JSON");
	CHECK(!r.config_found);
	CHECK(cfg("[1, 2]", &r, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "not a Keras model config (no class_name)");
	CHECK(cfg("{\"class_name\": 5}", &r, err, sizeof(err)) == -EINVAL);
	CHECK(keras_check_config("", 0, &r, err, sizeof(err)) == -EINVAL);

	/* models nested past KERAS_MAX_DEPTH: refused, hits so far kept */
	deep = malloc(100000);
	if (!deep)
		return;
	for (int i = 0; i < KERAS_MAX_DEPTH + 2; i++)
		off += (size_t)sprintf(deep + off,
				       "{\"class_name\": \"%s\", \"config\": {\"layers\": [",
				       i == 1 ? "Lambda" : "Sequential");
	off += (size_t)sprintf(deep + off, "1");
	for (int i = 0; i < KERAS_MAX_DEPTH + 2; i++)
		off += (size_t)sprintf(deep + off, "]}}");
	CHECK(keras_check_config(deep, off, &r, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "layers nested deeper than 64") != NULL);
	CHECK(r.config_found && find(&r, "lambda-layer") != NULL);
	free(deep);
}

static void test_hit_limit(void)
{
	struct keras_result r;
	char err[256], *t = malloc(65536);
	size_t off = 0;

	if (!t)
		return;
	off += (size_t)sprintf(t, "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [");
	for (int i = 0; i < KERAS_MAX_HITS + 3; i++)
		off += (size_t)sprintf(t + off,
				       "%s{\"class_name\": \"Lambda\", \"config\": "
				       "{\"name\": \"l%d\"}}",
				       i ? "," : "", i);
	off += (size_t)sprintf(t + off, "]}}");
	CHECK(keras_check_config(t, off, &r, err, sizeof(err)) == 0);
	CHECK(r.nhits == KERAS_MAX_HITS && r.hits_dropped == 3);
	CHECK(r.layers == KERAS_MAX_HITS + 3);
	free(t);
}

int main(void)
{
	if (samples_init("keras"))
		return 1;
	generated = sample_python(NULL, gen_py);
	RUN(test_generated);
	RUN(test_h5_clean);
	RUN(test_h5_lambda);
	RUN(test_h5_far);
	RUN(test_h5_no_config);
	RUN(test_h5_handmade);
	RUN(test_k3_clean);
	RUN(test_k3_lambda);
	RUN(test_nested_layers);
	RUN(test_foreign_modules);
	RUN(test_config_errors);
	RUN(test_hit_limit);
	samples_cleanup();
	return CHECK_DONE();
}
