/* Records as mlwatch writes them with --json (from an end-to-end run of
 * a reverse shell in a pickle, paths shortened, ids added), and the kinds
 * that run did not make (schema in docs/schema.md). */
#ifndef MLWATCH_TEST_FMT_RECORDS_H
#define MLWATCH_TEST_FMT_RECORDS_H

static const char J_INCIDENT_NEW[] =
	"{\"record\":\"incident\",\"schema_version\":1,\"id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3"
	"c4d01\",\"status\":\"new\",\"incident\":\"mlw-73f0335019668dee\",\"seq\":1,\"time\":\""
	"2026-12-06T20:22:17.961Z\",\"first_seen\":\"2026-12-06T20:22:17.948Z\",\"last_seen\":\""
	"2026-12-06T20:22:17.961Z\",\"host\":\"vm\",\"severity\":\"high\",\"title\":\"Outbound "
	"connection to an external address while a model was being loaded\",\"chains\":[],\"loa"
	"der\":{\"pid\":11367,\"scope\":\"model\",\"exe\":\"/usr/bin/python3.11\",\"model\":\"/"
	"tmp/m/model.pkl\",\"marked_at\":\"2026-12-06T20:22:17.948Z\"},\"timeline\":[{\"time\":"
	"\"2026-12-06T20:22:17.948Z\",\"pid\":11367,\"step\":\"model_open\",\"rule\":\"model-op"
	"en\",\"severity\":\"low\",\"summary\":\"open /tmp/m/model.pkl\",\"count\":1,\"tags\":["
	"\"AML.T0010.003\",\"AML.T0011.000\"]},{\"time\":\"2026-12-06T20:22:17.961Z\",\"pid\":1"
	"1367,\"step\":\"external_connect\",\"rule\":\"model-loader-external-connect\",\"severi"
	"ty\":\"high\",\"summary\":\"connect 127.0.0.1:36525\",\"count\":1,\"tags\":[\"AML.T001"
	"1.000\",\"AML.T0025\",\"T1041\"]}],\"tags\":[\"AML.T0010.003\",\"AML.T0011.000\",\"AML"
	".T0025\",\"T1041\"],\"alerts\":1,\"folded\":1,\"suppressed\":{\"duplicates\":0,\"rate_"
	"limited\":0,\"global_limited\":0,\"steps_cut\":0,\"tags_cut\":0,\"pids_cut\":0}}";

static const char J_CONNECT[] =
	"{\"record\":\"alert\",\"schema_version\":1,\"id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d"
	"02\",\"time\":\"2026-12-06T20:22:17.961Z\",\"incident\":\"mlw-73f0335019668dee\",\"hos"
	"t\":\"vm\",\"rule\":{\"id\":\"model-loader-external-connect\",\"title\":\"Outbound con"
	"nection to an external address while a model was being loaded\"},\"severity\":\"high\""
	",\"tags\":[\"AML.T0011.000\",\"AML.T0025\",\"T1041\"],\"process\":{\"pid\":11367,\"tid"
	"\":11368,\"ppid\":11323,\"uid\":0,\"comm\":\"python3\",\"exe\":\"/usr/bin/python3.11\""
	",\"args\":[\"/usr/bin/python3\",\"loader.py\",\"pickle\",\"/tmp/m/model.pkl\"],\"args_"
	"truncated\":false,\"cgroup_id\":1},\"loader\":{\"pid\":11367,\"exe\":\"/usr/bin/python"
	"3.11\",\"model\":{\"path\":\"/tmp/m/model.pkl\",\"resolved_path\":\"/tmp/m/model.pkl\""
	",\"format\":\"pickle\"}},\"ancestry\":[{\"pid\":11367,\"exe\":\"/usr/bin/python3.11\"}"
	"],\"event\":{\"kind\":\"connect\",\"family\":\"inet\",\"address\":\"127.0.0.1\",\"port"
	"\":36525,\"dest_class\":\"external\",\"fd\":4,\"result\":0,\"during_load\":true,\"path"
	"_truncated\":false}}";

static const char J_DUP[] =
	"{\"record\":\"alert\",\"schema_version\":1,\"id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d"
	"03\",\"time\":\"2026-12-06T20:22:17.961Z\",\"incident\":\"mlw-73f0335019668dee\",\"hos"
	"t\":\"vm\",\"rule\":{\"id\":\"model-loader-socket-stdio\",\"title\":\"Socket made stdi"
	"n/stdout/stderr of a process that loaded a model\"},\"severity\":\"critical\",\"tags\""
	":[\"AML.T0072\",\"AML.T0011.000\",\"T1059\"],\"process\":{\"pid\":11367,\"tid\":11368,"
	"\"ppid\":11323,\"uid\":0,\"comm\":\"python3\",\"exe\":\"/usr/bin/python3.11\",\"args\""
	":[\"/usr/bin/python3\",\"loader.py\",\"pickle\",\"/tmp/m/model.pkl\"],\"args_truncated"
	"\":false,\"cgroup_id\":1},\"loader\":{\"pid\":11367,\"exe\":\"/usr/bin/python3.11\",\""
	"model\":{\"path\":\"/tmp/m/model.pkl\",\"resolved_path\":\"/tmp/m/model.pkl\",\"format"
	"\":\"pickle\"}},\"ancestry\":[{\"pid\":11367,\"exe\":\"/usr/bin/python3.11\"}],\"event"
	"\":{\"kind\":\"dup\",\"oldfd\":4,\"newfd\":0,\"syscall\":\"dup2\",\"peer\":{\"family\""
	":\"inet\",\"address\":\"127.0.0.1\",\"port\":36525,\"dest_class\":\"external\"},\"path"
	"_truncated\":false}}";

static const char J_SHELL[] =
	"{\"record\":\"alert\",\"schema_version\":1,\"id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d"
	"04\",\"time\":\"2026-12-06T20:22:17.974Z\",\"incident\":\"mlw-73f0335019668dee\",\"hos"
	"t\":\"vm\",\"rule\":{\"id\":\"model-loader-shell\",\"title\":\"Shell started by a proc"
	"ess that loaded a model\"},\"severity\":\"critical\",\"tags\":[\"AML.T0011.000\",\"AML"
	".T0010.003\",\"T1059.004\"],\"process\":{\"pid\":11369,\"tid\":11369,\"ppid\":11367,\""
	"uid\":0,\"comm\":\"sh\",\"exe\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"touch /tmp/m/MAR"
	"KER\"],\"args_truncated\":false,\"cgroup_id\":1},\"loader\":{\"pid\":11367,\"exe\":\"/"
	"usr/bin/python3.11\",\"model\":{\"path\":\"/tmp/m/model.pkl\",\"resolved_path\":\"/tmp"
	"/m/model.pkl\",\"format\":\"pickle\"}},\"ancestry\":[{\"pid\":11369,\"exe\":\"/bin/sh\""
	"},{\"pid\":11367,\"exe\":\"/usr/bin/python3.11\"}],\"event\":{\"kind\":\"exec\",\"file"
	"name\":\"/bin/sh\",\"resolved_path\":\"/bin/sh\",\"real_path\":\"/usr/bin/dash\",\"arg"
	"s\":[\"sh\",\"-c\",\"touch /tmp/m/MARKER\"],\"args_truncated\":false,\"classes\":\"she"
	"ll,shell-inline\",\"path_truncated\":false}}";

static const char J_SCAN[] =
	"{\"record\":\"alert\",\"schema_version\":1,\"id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d"
	"05\",\"time\":\"2026-12-06T20:22:17.948Z\",\"incident\":\"mlw-73f0335019668dee\",\"hos"
	"t\":\"vm\",\"rule\":{\"id\":\"model-scan-malicious\",\"title\":\"Loaded model would ru"
	"n code on load (static scan)\"},\"severity\":\"critical\",\"tags\":[\"AML.T0010.003\","
	"\"AML.T0011.000\",\"T1204.002\"],\"process\":{\"pid\":11367,\"tid\":11367,\"ppid\":113"
	"23,\"uid\":0,\"comm\":\"python3\",\"exe\":\"/usr/bin/python3.11\",\"args\":[\"/usr/bin"
	"/python3\",\"loader.py\",\"pickle\",\"/tmp/m/model.pkl\"],\"args_truncated\":false,\"c"
	"group_id\":1},\"loader\":{\"pid\":11367,\"exe\":\"/usr/bin/python3.11\",\"model\":{\"p"
	"ath\":\"/tmp/m/model.pkl\",\"resolved_path\":\"/tmp/m/model.pkl\",\"format\":\"pickle\""
	"}},\"ancestry\":[{\"pid\":11367,\"exe\":\"/usr/bin/python3.11\"}],\"event\":{\"kind\":"
	"\"open\",\"path\":\"/tmp/m/model.pkl\",\"resolved_path\":\"/tmp/m/model.pkl\",\"flags\""
	":[\"O_RDONLY\",\"O_CLOEXEC\"],\"result\":3,\"path_truncated\":false},\"scan\":{\"verdi"
	"ct\":\"malicious\",\"findings\":1,\"top\":[\"(file) @ 29: builtins.exec called, not in"
	" profile ml [malicious]\"],\"bytes_read\":1098,\"duration_us\":579}}";

static const char J_INVENTORY[] =
	"{\"record\":\"inventory\",\"schema_version\":1,\"id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b"
	"3c4d06\",\"time\":\"2026-12-06T20:22:17.948Z\",\"host\":\"vm\",\"complete\":true,\"pro"
	"cess\":{\"pid\":11367,\"uid\":0,\"comm\":\"python3\",\"exe\":\"/usr/bin/python3.11\"},"
	"\"model\":{\"path\":\"/tmp/m/model.pkl\",\"resolved_path\":\"/tmp/m/model.pkl\",\"form"
	"at\":\"pickle\",\"size\":549,\"dev\":\"254:0\",\"inode\":10969656,\"mtime\":\"2026-12-"
	"06T20:22:16.879Z\",\"sha256\":\"eb5e352b07869a471f2865dd98af53a12a86038fb7a0837df510c2"
	"5c70354703\",\"hash\":\"computed\",\"scan\":{\"verdict\":\"malicious\",\"findings\":1,"
	"\"top\":[\"(file) @ 29: builtins.exec called, not in profile ml [malicious]\"],\"bytes"
	"_read\":1098,\"duration_us\":579}},\"first_seen\":\"2026-12-06T20:22:17.948Z\",\"last_"
	"seen\":\"2026-12-06T20:22:17.948Z\",\"load_count\":1}";

static const char J_INCIDENT_CLOSED[] =
	"{\"record\":\"incident\",\"schema_version\":1,\"id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3"
	"c4d07\",\"status\":\"closed\",\"incident\":\"mlw-73f0335019668dee\",\"seq\":4,\"time\""
	":\"2026-12-06T20:22:18.180Z\",\"first_seen\":\"2026-12-06T20:22:17.948Z\",\"last_seen\""
	":\"2026-12-06T20:22:17.974Z\",\"host\":\"vm\",\"severity\":\"critical\",\"title\":\"Re"
	"verse shell: outbound connect, socket on stdin/stdout/stderr, shell\",\"chains\":[{\"i"
	"d\":\"chain-reverse-shell\",\"title\":\"Reverse shell: outbound connect, socket on std"
	"in/stdout/stderr, shell\",\"tags\":[\"AML.T0072\",\"AML.T0011.000\",\"AML.T0010.003\","
	"\"T1059.004\",\"T1095\"]}],\"loader\":{\"pid\":11367,\"scope\":\"model\",\"exe\":\"/us"
	"r/bin/python3.11\",\"model\":\"/tmp/m/model.pkl\",\"model_scan\":\"malicious\",\"marke"
	"d_at\":\"2026-12-06T20:22:17.948Z\"},\"timeline\":[{\"time\":\"2026-12-06T20:22:17.948"
	"Z\",\"pid\":11367,\"step\":\"model_open\",\"rule\":\"model-open\",\"severity\":\"low\""
	",\"summary\":\"open /tmp/m/model.pkl\",\"count\":1,\"tags\":[\"AML.T0010.003\",\"AML.T"
	"0011.000\"]},{\"time\":\"2026-12-06T20:22:17.948Z\",\"pid\":11367,\"step\":\"model_sca"
	"n\",\"rule\":\"model-scan-malicious\",\"severity\":\"critical\",\"summary\":\"static s"
	"can: malicious: (file) @ 29: builtins.exec called, not in profile ml [malicious]\",\"c"
	"ount\":1,\"tags\":[\"AML.T0010.003\",\"AML.T0011.000\",\"T1204.002\"]},{\"time\":\"202"
	"6-12-06T20:22:17.961Z\",\"pid\":11367,\"step\":\"external_connect\",\"rule\":\"model-l"
	"oader-external-connect\",\"severity\":\"high\",\"summary\":\"connect 127.0.0.1:36525\""
	",\"count\":1,\"tags\":[\"AML.T0011.000\",\"AML.T0025\",\"T1041\"]},{\"time\":\"2026-12"
	"-06T20:22:17.961Z\",\"pid\":11367,\"step\":\"socket_stdio\",\"rule\":\"model-loader-so"
	"cket-stdio\",\"severity\":\"critical\",\"summary\":\"dup2 socket 127.0.0.1:36525 onto "
	"stdin/stdout/stderr\",\"count\":3,\"last_seen\":\"2026-12-06T20:22:17.961Z\",\"tags\":"
	"[\"AML.T0011.000\",\"AML.T0072\",\"T1059\"]},{\"time\":\"2026-12-06T20:22:17.974Z\",\""
	"pid\":11369,\"step\":\"shell_exec\",\"rule\":\"model-loader-shell\",\"severity\":\"cri"
	"tical\",\"summary\":\"exec /bin/sh -c touch /tmp/m/MARKER\",\"count\":1,\"tags\":[\"AM"
	"L.T0010.003\",\"AML.T0011.000\",\"T1059.004\"]}],\"tags\":[\"AML.T0010.003\",\"AML.T00"
	"11.000\",\"AML.T0025\",\"T1041\",\"AML.T0072\",\"T1059\",\"T1059.004\",\"T1095\",\"T12"
	"04.002\"],\"alerts\":6,\"folded\":1,\"suppressed\":{\"duplicates\":2,\"rate_limited\":"
	"1,\"global_limited\":0,\"steps_cut\":0,\"tags_cut\":0,\"pids_cut\":0},\"summary\":{\"r"
	"eason\":\"exited\",\"steps\":5,\"alerts\":6,\"duration_ms\":26,\"distinct_pids\":2,\"p"
	"ids\":[11367,11369],\"chains\":[\"chain-reverse-shell\"],\"records\":4}}";

static const char J_HEALTH[] =
	"{\"record\":\"alert\",\"schema_version\":1,\"id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d"
	"08\",\"time\":\"2026-12-06T20:22:19.000Z\",\"host\":\"vm\",\"rule\":{\"id\":\"sensor-e"
	"vents-lost\",\"title\":\"The kernel could not send every record: an attack's step may "
	"be missing\"},\"severity\":\"high\",\"tags\":[\"T1562.006\"],\"sensor\":{\"window_ms\""
	":1000,\"vital_lost\":3,\"counts\":{\"ringbuf_full_exec\":3,\"shed_model_open\":5}}}";

static const char J_HELD_BACK[] =
	"{\"record\":\"inventory-held-back\",\"schema_version\":1,\"id\":\"6f1c1a52-6a8e-4c55-9"
	"a0e-0d1d2b3c4d09\",\"time\":\"2026-12-06T20:22:20.000Z\",\"host\":\"vm\",\"records\":1"
	"20,\"loads\":480,\"first\":\"2026-12-06T20:22:19.100Z\",\"last\":\"2026-12-06T20:22:20"
	".000Z\",\"limit\":{\"per_sec\":50,\"burst\":500}}";

static const char J_BLOCKLISTED[] =
	"{\"record\":\"alert\",\"schema_version\":1,\"id\":\"6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d"
	"0a\",\"time\":\"2026-12-06T20:22:17.990Z\",\"host\":\"vm\",\"rule\":{\"id\":\"model-bl"
	"ocklisted\",\"title\":\"Process loaded a blocklisted model\"},\"severity\":\"critical\""
	",\"tags\":[\"AML.T0010.003\",\"AML.T0058\",\"T1195.002\"],\"process\":{\"pid\":11367,\""
	"uid\":0,\"comm\":\"python3\",\"exe\":\"/usr/bin/python3.11\"},\"loader\":{\"pid\":1136"
	"7,\"exe\":\"/usr/bin/python3.11\",\"model\":{\"path\":\"/tmp/m/model.pkl\",\"resolved_"
	"path\":\"/tmp/m/model.pkl\",\"format\":\"pickle\"}},\"match\":{\"by\":\"sha256\",\"ent"
	"ry\":\"eb5e352b07869a471f2865dd98af53a12a86038fb7a0837df510c25c70354703\",\"reason\":\""
	"known bad\"},\"inventory\":{\"record\":\"inventory\",\"time\":\"2026-12-06T20:22:17.94"
	"8Z\",\"host\":\"vm\",\"complete\":true,\"process\":{\"pid\":11367,\"uid\":0,\"comm\":\""
	"python3\",\"exe\":\"/usr/bin/python3.11\"},\"model\":{\"path\":\"/tmp/m/model.pkl\",\""
	"resolved_path\":\"/tmp/m/model.pkl\",\"format\":\"pickle\",\"size\":549,\"dev\":\"254:"
	"0\",\"inode\":10969656,\"mtime\":\"2026-12-06T20:22:16.879Z\",\"sha256\":\"eb5e352b078"
	"69a471f2865dd98af53a12a86038fb7a0837df510c25c70354703\",\"hash\":\"computed\",\"scan\""
	":{\"verdict\":\"malicious\",\"findings\":1,\"top\":[\"(file) @ 29: builtins.exec calle"
	"d, not in profile ml [malicious]\"],\"bytes_read\":1098,\"duration_us\":579}},\"first_"
	"seen\":\"2026-12-06T20:22:17.948Z\",\"last_seen\":\"2026-12-06T20:22:17.948Z\",\"load_"
	"count\":1,\"blocklist\":{\"sha256\":{\"entry\":\"eb5e352b07869a471f2865dd98af53a12a860"
	"38fb7a0837df510c25c70354703\",\"reason\":\"known bad\"}}}}";

#endif
