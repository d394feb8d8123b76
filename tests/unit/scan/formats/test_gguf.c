/* gguf: GGUF files built byte by byte at test time (every value type,
 * string and nested arrays, v1/v3, big-endian), real chat templates that
 * must stay clean, Jinja injection payloads in their usual spellings, and
 * malformed metadata with the exact complaint. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "samples.h"
#include "scan/formats/chat_template.h"

/* ---- a tiny GGUF writer ---------------------------------------------- */

struct gb {
	uint8_t *p;
	size_t n, cap;
	int v1, be;
};

static void put(struct gb *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = (b->n + n) * 2 + 64;
		uint8_t *p = realloc(b->p, cap);

		if (!p)
			abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put_le(struct gb *b, uint64_t v, int bytes)
{
	uint8_t x[8];

	for (int i = 0; i < bytes; i++)
		x[b->be ? bytes - 1 - i : i] = (uint8_t)(v >> (8 * i));
	put(b, x, (size_t)bytes);
}

static void u32(struct gb *b, uint32_t v)
{
	put_le(b, v, 4);
}
static void u64(struct gb *b, uint64_t v)
{
	put_le(b, v, 8);
}
static void len(struct gb *b, uint64_t v)
{
	put_le(b, v, b->v1 ? 4 : 8);
}

static void str(struct gb *b, const char *s)
{
	len(b, strlen(s));
	put(b, s, strlen(s));
}

static void hdr(struct gb *b, uint32_t ver, uint64_t ntensors, uint64_t nkv)
{
	put(b, "GGUF", 4);
	u32(b, ver);
	len(b, ntensors);
	len(b, nkv);
}

static void kv_str(struct gb *b, const char *k, const char *v)
{
	str(b, k);
	u32(b, 8);
	str(b, v);
}

static void kv_u32(struct gb *b, const char *k, uint32_t v)
{
	str(b, k);
	u32(b, 4);
	u32(b, v);
}

static int scan(const struct gb *b, struct gguf_info *g, char *err, size_t errlen)
{
	struct byte_src s;

	bsrc_from_mem(&s, b->p, b->n);
	return gguf_scan(&s, g, err, errlen);
}

static const struct gguf_hit *find(const struct gguf_info *g, const char *what)
{
	for (size_t i = 0; i < g->nhits; i++)
		if (!strcmp(g->hits[i].what, what))
			return &g->hits[i];
	return NULL;
}

static void check_tpl(const char *t, struct gguf_info *g)
{
	memset(g, 0, sizeof(*g));
	gguf_check_template("tokenizer.chat_template", (const uint8_t *)t, strlen(t), 0, g);
}

/* ---- real templates (as shipped in tokenizer_config.json / GGUF) ------ */

static const char llama3[] =
	"{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
	"'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] "
	"| trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
	"{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
	"{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

static const char llama31_tools[] =
	"{{- bos_token }}\n"
	"{%- if custom_tools is defined %}\n    {%- set tools = custom_tools %}\n{%- endif %}\n"
	"{%- if not tools_in_user_message is defined %}\n"
	"    {%- set tools_in_user_message = true %}\n{%- endif %}\n"
	"{%- if not date_string is defined %}\n    {%- set date_string = \"26 Jul 2024\" %}\n"
	"{%- endif %}\n"
	"{%- if messages[0]['role'] == 'system' %}\n"
	"    {%- set system_message = messages[0]['content']|trim %}\n"
	"    {%- set messages = messages[1:] %}\n{%- else %}\n"
	"    {%- set system_message = \"\" %}\n{%- endif %}\n"
	"{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n"
	"{%- if builtin_tools is defined or tools is not none %}\n"
	"    {{- \"Environment: ipython\\n\" }}\n{%- endif %}\n"
	"{%- if builtin_tools is defined %}\n"
	"    {{- \"Tools: \" + builtin_tools | reject('equalto', 'code_interpreter') | join(\", \") "
	"+ \"\\n\\n\"}}\n{%- endif %}\n"
	"{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n"
	"{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n"
	"{%- if tools is not none and not tools_in_user_message %}\n"
	"    {{- \"You have access to the following functions. To call a function, please respond "
	"with JSON for a function call.\" }}\n"
	"    {{- 'Respond in the format {\"name\": function name, \"parameters\": dictionary of "
	"argument name and its value}.' }}\n"
	"    {{- \"Do not use variables.\\n\\n\" }}\n"
	"    {%- for t in tools %}\n        {{- t | tojson(indent=4) }}\n        {{- \"\\n\\n\" }}\n"
	"    {%- endfor %}\n{%- endif %}\n"
	"{{- system_message }}\n{{- \"<|eot_id|>\" }}\n"
	"{%- for message in messages %}\n"
	"    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in "
	"message) %}\n"
	"        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
	"message['content'] | trim + '<|eot_id|>' }}\n"
	"    {%- elif 'tool_calls' in message %}\n"
	"        {%- if not message.tool_calls|length == 1 %}\n"
	"            {{- raise_exception(\"This model only supports single tool-calls at once!\") }}\n"
	"        {%- endif %}\n"
	"        {%- set tool_call = message.tool_calls[0].function %}\n"
	"        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}\n"
	"            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
	"            {{- \"<|python_tag|>\" + tool_call.name + \".call(\" }}\n"
	"            {%- for arg_name, arg_val in tool_call.arguments | items %}\n"
	"                {{- arg_name + '=\"' + arg_val + '\"' }}\n"
	"                {%- if not loop.last %}\n                    {{- \", \" }}\n"
	"                {%- endif %}\n            {%- endfor %}\n            {{- \")\" }}\n"
	"        {%- else  %}\n"
	"            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
	"            {{- '{\"name\": \"' + tool_call.name + '\", ' }}\n"
	"            {{- '\"parameters\": ' }}\n            {{- tool_call.arguments | tojson }}\n"
	"            {{- \"}\" }}\n        {%- endif %}\n"
	"        {%- if builtin_tools is defined %}\n            {{- \"<|eom_id|>\" }}\n"
	"        {%- else %}\n            {{- \"<|eot_id|>\" }}\n        {%- endif %}\n"
	"    {%- elif message.role == \"tool\" or message.role == \"ipython\" %}\n"
	"        {{- \"<|start_header_id|>ipython<|end_header_id|>\\n\\n\" }}\n"
	"        {%- if message.content is mapping or message.content is iterable %}\n"
	"            {{- message.content | tojson }}\n        {%- else %}\n"
	"            {{- message.content }}\n        {%- endif %}\n"
	"        {{- \"<|eot_id|>\" }}\n    {%- endif %}\n{%- endfor %}\n"
	"{%- if add_generation_prompt %}\n"
	"    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n";

static const char mistral[] =
	"{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
	"(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
	"user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}"
	"{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
	"{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant "
	"roles are supported!') }}{% endif %}{% endfor %}";

static const char chatml[] =
	"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
	"message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
	"{{ '<|im_start|>assistant\\n' }}{% endif %}";

static const char gemma[] =
	"{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role "
	"not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user')"
	" != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
	"user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}"
	"{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
	"{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
	"{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

static const char qwen25[] =
	"{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n"
	"    {%- if messages[0]['role'] == 'system' %}\n        {{- messages[0]['content'] }}\n"
	"    {%- else %}\n        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful "
	"assistant.' }}\n    {%- endif %}\n"
	"    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user "
	"query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:"
	"\\n<tools>\" }}\n"
	"    {%- for tool in tools %}\n        {{- \"\\n\" }}\n        {{- tool | tojson }}\n"
	"    {%- endfor %}\n"
	"    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name "
	"and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": "
	"<function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
	"{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n"
	"        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
	"    {%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba "
	"Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n"
	"{%- for message in messages %}\n"
	"    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or "
	"(message.role == \"assistant\" and not message.tool_calls) %}\n"
	"        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
	"    {%- elif message.role == \"assistant\" %}\n        {{- '<|im_start|>' + message.role }}\n"
	"        {%- if message.content %}\n            {{- '\\n' + message.content }}\n"
	"        {%- endif %}\n        {%- for tool_call in message.tool_calls %}\n"
	"            {%- if tool_call.function is defined %}\n"
	"                {%- set tool_call = tool_call.function %}\n            {%- endif %}\n"
	"            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n            {{- tool_call.name }}\n"
	"            {{- '\", \"arguments\": ' }}\n            {{- tool_call.arguments | tojson }}\n"
	"            {{- '}\\n</tool_call>' }}\n        {%- endfor %}\n"
	"        {{- '<|im_end|>\\n' }}\n    {%- elif message.role == \"tool\" %}\n"
	"        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
	"            {{- '<|im_start|>user' }}\n        {%- endif %}\n"
	"        {{- '\\n<tool_response>\\n' }}\n        {{- message.content }}\n"
	"        {{- '\\n</tool_response>' }}\n"
	"        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
	"            {{- '<|im_end|>\\n' }}\n        {%- endif %}\n    {%- endif %}\n"
	"{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n"
	"{%- endif %}\n";

/* DeepSeek-style: namespace() state across the loop. */
static const char deepseek_ns[] =
	"{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}"
	"{% endif %}{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, "
	"system_prompt='') %}{%- for message in messages %}{%- if message['role'] == 'system' %}"
	"{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}{{bos_token}}"
	"{{ns.system_prompt}}{%- for message in messages %}{%- if message['role'] == 'user' %}"
	"{%- set ns.is_tool = false -%}{{'<\xef\xbd\x9c"
	"User\xef\xbd\x9c>' + message['content']}}"
	"{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}"
	"{{'<\xef\xbd\x9c"
	"Assistant\xef\xbd\x9c>' + message['content'] + '<\xef\xbd\x9c"
	"end\xe2\x96"
	"\x81"
	"of\xe2\x96\x81"
	"sentence\xef\xbd\x9c>'}}{%- endif %}{%- endfor -%}"
	"{% set ns = namespace(found=false) %}{% for m in messages %}{% if m.role == 'system' %}"
	"{% set ns.found = true %}{% endif %}{% endfor %}"
	"{% if add_generation_prompt and not ns.is_tool %}{{'<\xef\xbd\x9c"
	"Assistant\xef\xbd\x9c>'}}"
	"{% endif %}";

static void test_real_templates_clean(void)
{
	const char *tpl[] = { llama3, llama31_tools, mistral, chatml, gemma, qwen25, deepseek_ns };
	struct gguf_info g;

	for (size_t i = 0; i < sizeof(tpl) / sizeof(tpl[0]); i++) {
		check_tpl(tpl[i], &g);
		if (g.nhits)
			printf("  template %zu: hit '%s' at %llu\n", i, g.hits[0].what,
			       (unsigned long long)g.hits[0].offset);
		CHECK(g.nhits == 0);
		CHECK(g.templates == 1);
	}
}

/* ---- injections --------------------------------------------------------- */

static void expect(const char *tpl, const char *what, bool malicious)
{
	struct gguf_info g;
	const struct gguf_hit *h;

	check_tpl(tpl, &g);
	h = find(&g, what);
	if (!h) {
		printf("  no '%s' in: %s (%zu hits%s%s)\n", what, tpl, g.nhits,
		       g.nhits ? ", first " : "", g.nhits ? g.hits[0].what : "");
		CHECK(!"expected hit");
		return;
	}
	if (h->malicious != malicious)
		printf("  '%s' in %s: malicious=%d\n", what, tpl, h->malicious);
	CHECK(h->malicious == malicious);
	CHECK_STR(h->key, "tokenizer.chat_template");
}

static void test_injections_malicious(void)
{
	struct gguf_info g;
	const struct gguf_hit *h;

	expect("{{ ''.__class__.__mro__[1].__subclasses__() }}", "__class__", true);
	expect("{{ ''.__class__.__mro__[1].__subclasses__() }}", "__mro__", true);
	expect("{{ ''.__class__.__mro__[1].__subclasses__() }}", "__subclasses__", true);
	expect("{{ lipsum.__globals__.os.popen('id').read() }}", "lipsum.__globals__", true);
	expect("{{ lipsum.__globals__.os.popen('id').read() }}", "os.popen", true);
	expect("{{ lipsum|attr('__globals__') }}", "__globals__", true);
	expect("{{ x|attr(\"__cla\" ~ \"ss__\") }}", "__class__", true);
	expect("{{ ''['__cla' 'ss__'] }}", "__class__", true);
	expect("{{ ''['__cla'+'ss__']['__mro__'] }}", "__mro__", true);
	expect("{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", "__class__", true);
	expect("{{ ''|attr('\\u005f\\137init\\N{LOW LINE}_') }}", "__init__", true);
	expect("{% set c = '__class__' %}{{ ''|attr(c) }}", "__class__", true);
	expect("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "cycler.__init__", true);
	expect("{{ joiner.__init__.__globals__ }}", "joiner.__init__", true);
	expect("{{ namespace.__init__.__globals__ }}", "namespace.__init__", true);
	expect("{{ url_for.__globals__['current_app'] }}", "url_for.__globals__", true);
	expect("{{ self._TemplateReference__context.cycler }}", "self._TemplateReference__context",
	       true);
	expect("{{ self.__init__.__globals__.__builtins__ }}", "self.__init__", true);
	expect("{{ x.__builtins__['__import__']('os').system('id') }}", "__import__", true);
	expect("{{ x.__builtins__['__import__']('os').system('id') }}", "system(", true);
	expect("{{ x.__getattribute__('y') }}", "__getattribute__", true);
	expect("{{ x.__base__ }}", "__base__", true);
	expect("{{ lipsum['__globals__']['os']['popen']('id') }}", "__globals__", true);
	expect("{{ lipsum|attr('x')|attr('popen') }}", "'popen' lookup", true);
	expect("{{ a['os'] }}", "'os' lookup", true);
	expect("{{ subprocess }}", "subprocess", true);
	expect("{{ eval ('1') }}", "eval(", true);
	expect("{{ exec('1') }}", "exec(", true);
	expect("{% import 'x.html' as x %}", "import", true);
	expect("{% from 'x' import y %}", "import", true);
	expect("{{ config.items() }}", "config.", true);
	expect("{{ request.application.__self__ }}", "request.application", true);
	expect("{{ get_flashed_messages }}", "get_flashed_messages", true);
	expect("{{ lipsum['x'] }}", "lipsum", true);
	expect("{{ x.__weird__ }}", "__weird__", true);
	expect("{{ os.system }}", "os.system", true);
	/* "}}" inside a string or a bracket does not end the block: the code
	 * after it is still code */
	expect("{{ '}}' ~ ''.__class__ }}", "__class__", true);
	expect("{{ {'a': {'b': 1}} ~ x.__class__ }}", "__class__", true);

	/* one construct reported once, with its offset in the template */
	check_tpl("hello {{ x.__class__ }} {{ y.__class__ }}", &g);
	CHECK(g.nhits == 1);
	CHECK((h = find(&g, "__class__")) != NULL);
	if (h)
		CHECK(h->offset == 11);
}

static void test_suspicious_only(void)
{
	struct gguf_info g;

	expect("{{ self.blocks }}", "self.", false);
	expect("{% for i in range(9999999999) %}x{% endfor %}", "huge range()", false);
	expect("{% for i in range(0, 1_000_000) %}x{% endfor %}", "huge range()", false);
	expect("{{ x|attr(name) }}", "|attr(", false);
	expect("{{ x|attr('title') }}", "|attr(", false);
	expect("{% set a = '__cla' %}{% set b = 'ss__' %}{{ x[a ~ b] }}",
	       "dunder fragment in string", false);
	expect("{{ 'see __class__ docs' }}", "__class__", false);
	expect("Plain text about __globals__ {{ x }}", "__globals__ in text", false);
	/* small ranges, plain calls of Jinja helpers, locally bound names */
	check_tpl("{% for i in range(10) %}{{ i }}{% endfor %}{% set comma = joiner(', ') %}"
		  "{{ comma() }}{% for config in tools %}{{ config.name }}{% endfor %}"
		  "{% set self = 1 %}{{ self.x }}{{ cycler('a', 'b').next() }}",
		  &g);
	CHECK(g.nhits == 0);
	/* comments and raw blocks are never run */
	check_tpl("{# {{ ''.__class__ }} #}{% raw %}{{ x.__class__ }}{% endraw %}ok {{ y }}", &g);
	CHECK(g.nhits == 0);
}

static void test_hit_limit(void)
{
	struct gguf_info g;
	char t[4096];
	size_t off = 0;

	for (int i = 0; i < GGUF_MAX_HITS + 5; i++)
		off += (size_t)snprintf(t + off, sizeof(t) - off, "{{ x.__a%d__ }}", i);
	check_tpl(t, &g);
	CHECK(g.nhits == GGUF_MAX_HITS);
	CHECK(g.hits_dropped == 5);
}

/* ---- whole files ---------------------------------------------------- */

static const char evil_mro[] = "{{ ''.__class__.__mro__[1].__subclasses__() }}";

/* A file with every value type, arrays of strings and of arrays, a big
 * array of floats that must be skipped unread, and templates. */
static void build_rich(struct gb *b, const char *tpl, const char *named_tpl, size_t nfloats)
{
	hdr(b, 3, 291, named_tpl ? 13 : 12);
	str(b, "general.architecture");
	u32(b, 8);
	str(b, "llama");
	for (uint32_t t = 0; t <= 7; t++) {
		static const char *k[] = { "a.u8",  "a.i8",  "a.u16", "a.i16",
					   "a.u32", "a.i32", "a.f32", "a.bool" };
		static const int sz[] = { 1, 1, 2, 2, 4, 4, 4, 1 };

		if (t == 3 || t == 5)
			continue;
		str(b, k[t]);
		u32(b, t);
		put_le(b, 1, sz[t]);
	}
	str(b, "a.u64");
	u32(b, 10);
	u64(b, 7);
	str(b, "tokenizer.ggml.tokens");
	u32(b, 9);
	u32(b, 8);
	len(b, 3);
	str(b, "<s>");
	str(b, "</s>");
	str(b, "{{ x.__class__ }}"); /* not a template */
	str(b, "tokenizer.ggml.scores");
	u32(b, 9);
	u32(b, 6);
	len(b, nfloats);
	for (size_t i = 0; i < nfloats; i++)
		u32(b, 0);
	str(b, "a.nested");
	u32(b, 9);
	u32(b, 9);
	len(b, 2);
	u32(b, 12);
	len(b, 1);
	u64(b, 0);
	u32(b, 8);
	len(b, 1);
	str(b, "x");
	kv_str(b, "tokenizer.chat_template", tpl);
	if (named_tpl)
		kv_str(b, "tokenizer.chat_template.tool_use", named_tpl);
	put(b, "tensor infos follow", 19);
}

static void test_rich_clean(void)
{
	struct gb b = { 0 };
	struct gguf_info g;
	struct byte_src s;
	uint64_t nread = 0;
	char err[256];
	int rc;

	build_rich(&b, llama3, chatml, 1 << 18);
	bsrc_from_mem(&s, b.p, b.n);
	s.bytes_read = &nread;
	rc = gguf_scan(&s, &g, err, sizeof(err));
	if (rc)
		printf("  err: %s\n", err);
	CHECK(rc == 0);
	CHECK(g.version == 3);
	CHECK(g.n_tensors == 291);
	CHECK(g.n_kv == 13);
	CHECK(g.templates == 2);
	CHECK(g.nhits == 0);
	CHECK_STR(err, "");
	/* the megabyte of scores was skipped, not read */
	CHECK(nread < 100000);
	CHECK(b.n > 1000000);
	free(b.p);
}

static void test_file_malicious_and_named(void)
{
	const char *evil_tool = "{{ lipsum.__globals__.os.popen('id').read() }}";
	struct gb b = { 0 };
	struct gguf_info g;
	const struct gguf_hit *h;
	char err[256];
	struct byte_src s;
	uint8_t *at;
	int fd;

	build_rich(&b, evil_mro, evil_tool, 4);
	CHECK(scan(&b, &g, err, sizeof(err)) == 0);
	CHECK(g.templates == 2);
	CHECK((h = find(&g, "__class__")) != NULL);
	if (h) {
		CHECK(h->malicious);
		CHECK_STR(h->key, "tokenizer.chat_template");
		at = memmem(b.p, b.n, evil_mro, strlen(evil_mro));
		CHECK(at && h->offset == (uint64_t)(at - b.p) + 6);
	}
	CHECK((h = find(&g, "os.popen")) != NULL);
	if (h) {
		CHECK(h->malicious);
		CHECK_STR(h->key, "tokenizer.chat_template.tool_use");
	}
	CHECK(find(&g, "lipsum.__globals__") != NULL);

	/* the same through a file view */
	CHECK(sample_write("rich.gguf", b.p, b.n) == 0);
	fd = sample_open("rich.gguf", &s);
	CHECK(fd >= 0);
	if (fd < 0)
		goto out;
	memset(&g, 0xff, sizeof(g));
	CHECK(gguf_scan(&s, &g, err, sizeof(err)) == 0);
	CHECK(find(&g, "__subclasses__") != NULL && find(&g, "os.popen") != NULL);
	close(fd);
out:
	free(b.p);
}

static void test_attr_template_file(void)
{
	struct gb b = { 0 };
	struct gguf_info g;
	const struct gguf_hit *h;
	char err[256];

	hdr(&b, 2, 0, 2);
	kv_u32(&b, "general.alignment", 32);
	kv_str(&b, "tokenizer.chat_template",
	       "{{ bos_token }}{{ (lipsum|attr('__globals__')).os.popen('id').read() }}");
	CHECK(scan(&b, &g, err, sizeof(err)) == 0);
	CHECK(g.version == 2);
	CHECK((h = find(&g, "__globals__")) != NULL && h->malicious);
	CHECK(find(&g, "|attr(") == NULL);
	free(b.p);
}

static void test_v1_and_big_endian(void)
{
	struct gb b = { .v1 = 1 };
	struct gguf_info g;
	char err[256];

	hdr(&b, 1, 2, 2);
	kv_u32(&b, "general.alignment", 32);
	kv_str(&b, "tokenizer.chat_template", evil_mro);
	CHECK(scan(&b, &g, err, sizeof(err)) == 0);
	CHECK(g.version == 1 && g.n_kv == 2 && g.n_tensors == 2);
	CHECK(find(&g, "__mro__") != NULL);
	free(b.p);

	b = (struct gb){ .be = 1 };
	hdr(&b, 3, 1, 2);
	kv_u32(&b, "general.alignment", 32);
	kv_str(&b, "tokenizer.chat_template", evil_mro);
	CHECK(scan(&b, &g, err, sizeof(err)) == 0);
	CHECK(g.version == 3 && g.n_kv == 2 && g.n_tensors == 1);
	CHECK(find(&g, "__mro__") != NULL);
	free(b.p);
}

/* A template key holding something other than a string is not a template. */
static void test_template_key_other_type(void)
{
	struct gb b = { 0 };
	struct gguf_info g;
	char err[256];

	hdr(&b, 3, 0, 3);
	kv_u32(&b, "tokenizer.chat_template", 1);
	kv_str(&b, "tokenizer.chat_templatex", evil_mro);
	kv_str(&b, "tokenizer.chat_template.", evil_mro);
	CHECK(scan(&b, &g, err, sizeof(err)) == 0);
	CHECK(g.templates == 0 && g.nhits == 0);
	free(b.p);
}

static int scan_err(struct gb *b, char *err, size_t errlen, struct gguf_info *g)
{
	int rc = scan(b, g, err, errlen);

	free(b->p);
	*b = (struct gb){ 0 };
	return rc;
}

static void test_malformed(void)
{
	struct gb b = { 0 };
	struct gguf_info g;
	char err[256];

	put(&b, "GGUX", 4);
	u32(&b, 3);
	u64(&b, 0);
	u64(&b, 0);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "not a GGUF") != NULL);

	put(&b, "GG", 2);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "not a GGUF") != NULL);

	put(&b, "GGUF", 4);
	u32(&b, 3);
	u64(&b, 0);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK_STR(err, "GGUF header truncated");

	hdr(&b, 4, 0, 0);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK_STR(err, "unsupported GGUF version 4");

	hdr(&b, 3, 0, 2000000);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "kv_count 2000000 above the limit") != NULL);

	hdr(&b, 3, 0, 500);
	kv_u32(&b, "a", 1);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "kv_count 500 cannot fit") != NULL);

	/* truncated inside the second key */
	hdr(&b, 3, 0, 2);
	kv_u32(&b, "general.alignment", 32);
	len(&b, 30);
	put(&b, "general.na", 10);
	u32(&b, 0);
	u32(&b, 0);
	u32(&b, 0);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "kv 1 ('?'): key past the end of the file") != NULL);

	/* string length past EOF; a malicious template before it is kept */
	hdr(&b, 3, 0, 3);
	kv_str(&b, "tokenizer.chat_template", evil_mro);
	str(&b, "general.name");
	u32(&b, 8);
	len(&b, 1000);
	put(&b, "short", 5);
	kv_u32(&b, "x", 1);
	kv_u32(&b, "y", 1);
	kv_u32(&b, "z", 1);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "kv 1 ('general.name'): string past the end") != NULL);
	CHECK(find(&g, "__class__") != NULL);

	/* a template whose length runs past EOF */
	hdr(&b, 3, 0, 1);
	str(&b, "tokenizer.chat_template");
	u32(&b, 8);
	len(&b, 1u << 20);
	put(&b, "{{ x }}", 7);
	for (int i = 0; i < 10; i++)
		put(&b, "pad", 3);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "chat template past the end") != NULL);
	CHECK(g.templates == 0);

	/* a string longer than the limit */
	hdr(&b, 3, 0, 1);
	str(&b, "k");
	u32(&b, 8);
	len(&b, (uint64_t)GGUF_MAX_STRING + 1);
	for (int i = 0; i < 10; i++)
		put(&b, "pad", 3);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "string longer than the limit") != NULL);

	hdr(&b, 3, 0, 2);
	str(&b, "weird\x1b[2J");
	u32(&b, 13);
	u32(&b, 0);
	u32(&b, 0);
	u32(&b, 0);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "kv 0 ('weird\\x1b[2J') at offset 41: unknown value type 13") != NULL);

	hdr(&b, 3, 0, 2);
	str(&b, "arr");
	u32(&b, 9);
	u32(&b, 77);
	len(&b, 1);
	u64(&b, 0);
	u64(&b, 0);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "unknown array element type 77") != NULL);

	/* array counts the file cannot hold */
	hdr(&b, 3, 0, 2);
	str(&b, "arr");
	u32(&b, 9);
	u32(&b, 6);
	len(&b, UINT64_MAX / 2);
	u64(&b, 0);
	u64(&b, 0);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "array data past the end") != NULL);

	hdr(&b, 3, 0, 2);
	str(&b, "arr");
	u32(&b, 9);
	u32(&b, 8);
	len(&b, 1000000);
	u64(&b, 0);
	u64(&b, 0);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "array elements past the end") != NULL);

	/* arrays of arrays of arrays ... */
	hdr(&b, 3, 0, 1);
	str(&b, "deep");
	u32(&b, 9);
	for (int i = 0; i < 20; i++) {
		u32(&b, 9);
		len(&b, 1);
	}
	u32(&b, 0);
	len(&b, 0);
	CHECK(scan_err(&b, err, sizeof(err), &g) == -EINVAL);
	CHECK(strstr(err, "arrays nested too deep") != NULL);

	/* nesting within the limit is fine */
	hdr(&b, 3, 0, 1);
	str(&b, "nested");
	u32(&b, 9);
	for (int i = 0; i < 3; i++) {
		u32(&b, 9);
		len(&b, 1);
	}
	u32(&b, 0);
	len(&b, 2);
	put(&b, "ab", 2);
	CHECK(scan_err(&b, err, sizeof(err), &g) == 0);
}

int main(void)
{
	if (samples_init("gguf"))
		return 1;
	RUN(test_real_templates_clean);
	RUN(test_injections_malicious);
	RUN(test_suspicious_only);
	RUN(test_hit_limit);
	RUN(test_rich_clean);
	RUN(test_file_malicious_and_named);
	RUN(test_attr_template_file);
	RUN(test_v1_and_big_endian);
	RUN(test_template_key_other_type);
	RUN(test_malformed);
	samples_cleanup();
	return CHECK_DONE();
}
