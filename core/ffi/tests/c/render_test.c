/*
 * render_test.c: drives libipxe_config_ffi.a through its C header, as a C server would.
 *
 *   render_test [inventory.json]
 *
 * The checks with exact expectations run on an inline inventory. If an inventory file is
 * given, or fixtures/inventory.json exists in the working directory, it is loaded too and
 * every PXE-enabled MAC in it is rendered: each must give a script, and at least one a
 * deploy script. Prints "N passed, M failed"; exits non-zero if anything failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipxe_config.h"

/* The header's structs must have the layout the Rust side was tested with. */
/* Nine pointers, 20 bytes of numbers padded to a pointer's alignment, one more pointer. */
#define SETTINGS_NUMBERS_PADDED ((20 + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *))
_Static_assert(sizeof(ipxe_config_settings) == 10 * sizeof(void *) + SETTINGS_NUMBERS_PADDED,
               "settings layout");
_Static_assert(sizeof(ipxe_config_inventory) == 3 * sizeof(void *) + 4 * sizeof(size_t),
               "inventory layout");
_Static_assert(sizeof(ipxe_config_result) == sizeof(void *) + 32, "result layout");

static int passed;
static int failed;

#define CHECK(condition)                                                                   \
    do {                                                                                   \
        if (condition) {                                                                   \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, #condition);         \
        }                                                                                  \
    } while (0)

#define CHECK_CODE(actual, expected)                                                       \
    do {                                                                                   \
        int actual_code = (actual);                                                        \
        if (actual_code == (expected)) {                                                   \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "FAILED %s:%d: %s returned %d (%s), expected %s\n", __FILE__,  \
                    __LINE__, #actual, actual_code, ipxe_config_strerror(actual_code),     \
                    #expected);                                                            \
        }                                                                                  \
    } while (0)

#define UUID "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
#define ENDPOINT "/v1/drivers/ipmi/vendor_passthru/ipxe_config"
#define BY_MAC ENDPOINT "?port_address=52%3A54%3A00%3A12%3A34%3A56"
#define UNKNOWN_UUID "00000000-0000-4000-8000-000000000000"

static const char INVENTORY[] =
    "{\"nodes\": [{"
    "  \"uuid\": \"" UUID "\", \"driver\": \"ipmi\", \"deploy_interface\": \"direct\","
    "  \"provision_state\": \"deploying\", \"boot_mode\": null,"
    "  \"driver_info\": {"
    "    \"deploy_kernel\": \"http:\\/\\/10.99.0.1\\/images\\/ipa.kernel\","
    "    \"deploy_ramdisk\": \"http://10.99.0.1/images/ipa.initramfs\","
    "    \"kernel_append_params\": \"console=ttyS0\"},"
    "  \"properties\": {\"cpus\": 4}, \"links\": [{\"href\": \"http://x\", \"rel\": \"self\"}]"
    " }, {"
    "  \"uuid\": \"5d0a3bf4-8cbb-4a58-9d0b-2a8f2e0f7f10\", \"driver\": \"ipmi\","
    "  \"provision_state\": \"available\"}],"
    " \"ports\": ["
    "  {\"address\": \"52:54:00:12:34:56\", \"node_uuid\": \"" UUID "\", \"pxe_enabled\": true},"
    "  {\"address\": \"52:54:00:12:34:99\", \"node_uuid\": \"" UUID "\", \"pxe_enabled\": false}"
    "]}";

/* A script in a NUL-terminated copy, so the checks can use string functions. */
typedef struct {
    int code;
    size_t written;
    ipxe_config_result info;
    char text[16384];
} answer;

static void render(const ipxe_config_inventory *inventory, const ipxe_config_settings *settings,
                   const char *target, size_t out_len, answer *a) {
    uint8_t *out = malloc(out_len ? out_len : 1); /* uninitialised on purpose */
    a->written = 12345;
    a->code = ipxe_config_render(inventory, settings, (const uint8_t *)target, strlen(target),
                                 out, out_len, &a->written, &a->info);
    a->text[0] = '\0';
    if (a->code == IPXE_CONFIG_OK && a->written < sizeof a->text) {
        memcpy(a->text, out, a->written);
        a->text[a->written] = '\0';
    }
    free(out);
}

static int starts_with(const char *text, const char *prefix) {
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Loads `json` into freshly allocated storage that starts at an odd address. */
static int load(const char *json, size_t json_len, size_t max_nodes, size_t max_ports,
                ipxe_config_inventory *handle, uint8_t **block, char *message,
                size_t message_len) {
    size_t size = ipxe_config_storage_size(max_nodes, max_ports, json_len);
    *block = malloc(size + 1);
    if (*block == NULL || size == 0) {
        return IPXE_CONFIG_ERR_BAD_LENGTH;
    }
    return ipxe_config_load(*block + 1, size, max_nodes, max_ports, json_len,
                            (const uint8_t *)json, json_len, handle, message, message_len);
}

static void inline_inventory(void) {
    ipxe_config_inventory inventory;
    uint8_t *block;
    char message[256];
    CHECK_CODE(load(INVENTORY, strlen(INVENTORY), 8, 8, &inventory, &block, message,
                    sizeof message),
               IPXE_CONFIG_OK);
    CHECK(inventory.node_count == 2);
    CHECK(inventory.port_count == 1); /* the pxe_enabled: false port is not stored */

    ipxe_config_settings settings;
    ipxe_config_settings_default(&settings);
    settings.base_url = "http://10.99.0.1:8080";
    CHECK_CODE(ipxe_config_settings_check(&settings, message, sizeof message), IPXE_CONFIG_OK);

    /* Deploy script, by MAC as iPXE sends it (percent-encoded). */
    static answer deploy;
    render(&inventory, &settings, BY_MAC, 16384, &deploy);
    CHECK_CODE(deploy.code, IPXE_CONFIG_OK);
    CHECK(deploy.info.http_status == 200);
    CHECK(deploy.info.script_kind == IPXE_CONFIG_SCRIPT_DEPLOY);
    CHECK(strcmp(ipxe_config_script_kind_name(deploy.info.script_kind), "deploy") == 0);
    CHECK(deploy.info.refusal == IPXE_CONFIG_REFUSAL_NONE);
    CHECK(deploy.info.has_node == 1);
    CHECK(deploy.info.node_uuid[0] == 0x1b && deploy.info.node_uuid[15] == 0x23);
    CHECK(deploy.written == strlen(deploy.text));
    CHECK(starts_with(deploy.text, "#!ipxe\n"));
    CHECK(strstr(deploy.text, "\nkernel http://10.99.0.1/images/ipa.kernel selinux=0 "
                              "troubleshoot=0 text console=ttyS0 BOOTIF=${mac} ") != NULL);
    CHECK(strstr(deploy.text, "\ninitrd --name deploy_ramdisk "
                              "http://10.99.0.1/images/ipa.initramfs") != NULL);
    CHECK(strstr(deploy.text, "\nboot\n") != NULL);

    /* The same node by UUID. */
    static answer by_uuid;
    render(&inventory, &settings, ENDPOINT "?node_uuid=" UUID, 16384, &by_uuid);
    CHECK_CODE(by_uuid.code, IPXE_CONFIG_OK);
    CHECK(strcmp(by_uuid.text, deploy.text) == 0);

    /* Unknown UUID: still 200, with an error script. */
    static answer unknown;
    render(&inventory, &settings, ENDPOINT "?node_uuid=" UNKNOWN_UUID, 16384, &unknown);
    CHECK_CODE(unknown.code, IPXE_CONFIG_OK);
    CHECK(unknown.info.http_status == 200);
    CHECK(unknown.info.script_kind == IPXE_CONFIG_SCRIPT_ERROR);
    CHECK(unknown.info.refusal == IPXE_CONFIG_REFUSAL_UNKNOWN_NODE);
    CHECK(unknown.info.has_node == 0);
    CHECK(strcmp(unknown.info.reason, "unknown node") == 0);
    CHECK(starts_with(unknown.text, "#!ipxe\n"));
    CHECK(strstr(unknown.text, "No node with UUID " UNKNOWN_UUID) != NULL);
    CHECK(strstr(unknown.text, "\nreboot\n") != NULL);
    CHECK(strstr(unknown.text, "\nkernel ") == NULL);

    /* A node in a state with nothing to boot. */
    static answer available;
    render(&inventory, &settings, ENDPOINT "?node_uuid=5d0a3bf4-8cbb-4a58-9d0b-2a8f2e0f7f10",
           16384, &available);
    CHECK(available.info.script_kind == IPXE_CONFIG_SCRIPT_ERROR);
    CHECK(available.info.refusal == IPXE_CONFIG_REFUSAL_UNBOOTABLE_STATE);

    /* Too small a buffer reports the size needed; nothing partial counts. */
    static answer shorter;
    render(&inventory, &settings, BY_MAC, deploy.written - 1, &shorter);
    CHECK_CODE(shorter.code, IPXE_CONFIG_ERR_BUFFER_TOO_SMALL);
    CHECK(shorter.written == deploy.written);
    CHECK(shorter.info.http_status == 0);
    size_t needed = 0;
    CHECK_CODE(ipxe_config_render(&inventory, &settings, (const uint8_t *)BY_MAC,
                                  strlen(BY_MAC), NULL, 0, &needed, NULL),
               IPXE_CONFIG_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == deploy.written);
    static answer exact;
    render(&inventory, &settings, BY_MAC, needed, &exact);
    CHECK_CODE(exact.code, IPXE_CONFIG_OK);
    CHECK(strcmp(exact.text, deploy.text) == 0);

    /* Route errors: a status and a reason, no script. */
    static answer not_found;
    render(&inventory, &settings, "/etc/passwd", 16384, &not_found);
    CHECK_CODE(not_found.code, IPXE_CONFIG_ERR_NOT_FOUND);
    CHECK(not_found.info.http_status == 404);
    CHECK(strcmp(not_found.info.reason, "no such resource") == 0);
    CHECK(not_found.written == 0);
    static answer bad_request;
    render(&inventory, &settings, ENDPOINT "?node_uuid=nope", 16384, &bad_request);
    CHECK_CODE(bad_request.code, IPXE_CONFIG_ERR_BAD_REQUEST);
    CHECK(bad_request.info.http_status == 400);
    static char long_target[2048];
    memset(long_target, 'a', sizeof long_target - 1);
    long_target[0] = '/';
    static answer too_long;
    render(&inventory, &settings, long_target, 16384, &too_long);
    CHECK_CODE(too_long.code, IPXE_CONFIG_ERR_TARGET_TOO_LONG);
    CHECK(too_long.info.http_status == 414);

    /* The chain script for standalone mode, with the configured base URL. */
    static answer chain;
    render(&inventory, &settings, "/boot.ipxe", 16384, &chain);
    CHECK(chain.info.script_kind == IPXE_CONFIG_SCRIPT_CHAIN);
    CHECK(strstr(chain.text, "chain --autofree http://10.99.0.1:8080/v1/drivers/any/") != NULL);

    /* Bad settings are an error code, and named by the check. */
    ipxe_config_settings bad = settings;
    bad.append_params = "quiet\nshell";
    static answer refused;
    render(&inventory, &bad, BY_MAC, 16384, &refused);
    CHECK_CODE(refused.code, IPXE_CONFIG_ERR_SETTINGS_INVALID);
    CHECK_CODE(ipxe_config_settings_check(&bad, message, sizeof message),
               IPXE_CONFIG_ERR_SETTINGS_INVALID);
    CHECK(strcmp(message, "append_params: contains a line break") == 0);
    bad = settings;
    bad.error_ending = 42;
    CHECK_CODE(ipxe_config_settings_check(&bad, NULL, 0), IPXE_CONFIG_ERR_SETTINGS_INVALID);
    bad = settings;
    bad.deploy_kernel = "http://\xff/";
    CHECK_CODE(ipxe_config_settings_check(&bad, NULL, 0), IPXE_CONFIG_ERR_SETTINGS_NOT_UTF8);

    /* NULL pointers are codes, not crashes. */
    size_t written;
    uint8_t out[64];
    CHECK_CODE(ipxe_config_render(NULL, &settings, (const uint8_t *)BY_MAC, strlen(BY_MAC), out,
                                  sizeof out, &written, NULL),
               IPXE_CONFIG_ERR_BAD_POINTER);
    CHECK_CODE(ipxe_config_render(&inventory, &settings, NULL, 0, out, sizeof out, &written,
                                  NULL),
               IPXE_CONFIG_ERR_BAD_POINTER);
    CHECK_CODE(ipxe_config_render(&inventory, &settings, (const uint8_t *)BY_MAC,
                                  strlen(BY_MAC), out, sizeof out, NULL, NULL),
               IPXE_CONFIG_ERR_BAD_POINTER);
    ipxe_config_inventory never_loaded;
    memset(&never_loaded, 0, sizeof never_loaded);
    CHECK_CODE(ipxe_config_render(&never_loaded, &settings, (const uint8_t *)BY_MAC,
                                  strlen(BY_MAC), out, sizeof out, &written, NULL),
               IPXE_CONFIG_ERR_NOT_LOADED);
    free(block);
}

static void load_errors(void) {
    /* One node's unsafe value quarantines that node: the file loads, and the node's
     * requests get an error script naming the field. */
    static const char unsafe_json[] =
        "{\"nodes\": [{\"uuid\": \"" UUID "\", \"driver\": \"ipmi\","
        " \"provision_state\": \"deploying\","
        " \"driver_info\": {\"deploy_kernel\": \"http://x/k\\nshell\"}}], \"ports\": []}";
    ipxe_config_inventory inventory;
    uint8_t *block;
    char message[256];
    CHECK_CODE(load(unsafe_json, strlen(unsafe_json), 4, 4, &inventory, &block, message,
                    sizeof message),
               IPXE_CONFIG_OK);
    CHECK(ipxe_config_quarantined_count(&inventory) == 1);
    ipxe_config_settings settings;
    ipxe_config_settings_default(&settings);
    static answer quarantined;
    render(&inventory, &settings, "/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=" UUID,
           16384, &quarantined);
    CHECK_CODE(quarantined.code, IPXE_CONFIG_OK);
    CHECK(quarantined.info.script_kind == IPXE_CONFIG_SCRIPT_ERROR);
    CHECK(quarantined.info.refusal == IPXE_CONFIG_REFUSAL_QUARANTINED);
    CHECK(strstr(quarantined.text, "driver_info.deploy_kernel") != NULL);
    CHECK(strstr(quarantined.text, "shell") == NULL);
    free(block);

    /* A file-level error still rejects the whole file, naming node and field. */
    static const char repeated_json[] =
        "{\"nodes\": [{\"uuid\": \"" UUID "\", \"driver\": \"ipmi\", \"driver\": \"ipmi\","
        " \"provision_state\": \"deploying\"}], \"ports\": []}";
    CHECK_CODE(load(repeated_json, strlen(repeated_json), 4, 4, &inventory, &block, message,
                    sizeof message),
               IPXE_CONFIG_ERR_INVENTORY_INVALID);
    CHECK(strstr(message, "driver") != NULL);
    free(block);

    /* A short message buffer is cut and terminated, never overrun. */
    char small[12];
    memset(small, '#', sizeof small);
    CHECK_CODE(load(repeated_json, strlen(repeated_json), 4, 4, &inventory, &block, small, 8),
               IPXE_CONFIG_ERR_INVENTORY_INVALID);
    CHECK(strlen(small) == 7 && strncmp(small, message, 7) == 0);
    CHECK(small[8] == '#' && small[11] == '#');
    free(block);

    CHECK_CODE(load(INVENTORY, strlen(INVENTORY), 1, 8, &inventory, &block, message,
                    sizeof message),
               IPXE_CONFIG_ERR_INVENTORY_CAPACITY);
    CHECK(strstr(message, "node capacity") != NULL);
    free(block);

    /* Storage smaller than ipxe_config_storage_size asks for. */
    static uint8_t too_small[256];
    CHECK_CODE(ipxe_config_load(too_small, sizeof too_small, 8, 8, strlen(INVENTORY),
                                (const uint8_t *)INVENTORY, strlen(INVENTORY), &inventory,
                                message, sizeof message),
               IPXE_CONFIG_ERR_STORAGE_TOO_SMALL);
    CHECK(starts_with(message, "storage too small"));
    CHECK(inventory.node_count == 0);
    CHECK(ipxe_config_storage_size((size_t)-1, 0, 0) == 0);
    CHECK_CODE(ipxe_config_load(NULL, 0, 8, 8, 0, (const uint8_t *)"{}", 2, &inventory, NULL, 0),
               IPXE_CONFIG_ERR_BAD_POINTER);
    CHECK_CODE(ipxe_config_load(too_small, sizeof too_small, 8, 8, 0, (const uint8_t *)"{}", 2,
                                NULL, NULL, 0),
               IPXE_CONFIG_ERR_BAD_POINTER);
}

/* A block declared static, sized by the header's constant expression: no malloc. One byte
 * more, so the block can start at an odd address (the macro allows any alignment). */
#define STATIC_NODES 8
#define STATIC_PORTS 8
#define STATIC_STRING_BYTES 4096
static uint8_t static_block[IPXE_CONFIG_STORAGE_BYTES(STATIC_NODES, STATIC_PORTS,
                                                      STATIC_STRING_BYTES) + 1];

static void static_storage(void) {
    /* The macro and the function agree: pool-bound, node-bound, no nodes, large fleets. */
    static const size_t capacities[][3] = {
        {8, 8, 4096}, {1000, 0, 30}, {1, 0, 1 << 20}, {0, 0, 0},
        {0, 0, 1 << 20}, {1000, 4000, 262144}, {65536, 65536, 1 << 24}, {3, 5, 7},
    };
    for (size_t i = 0; i < sizeof capacities / sizeof capacities[0]; i++) {
        size_t nodes = capacities[i][0], ports = capacities[i][1], strings = capacities[i][2];
        CHECK(IPXE_CONFIG_STORAGE_BYTES(nodes, ports, strings) ==
              ipxe_config_storage_size(nodes, ports, strings));
    }
    ipxe_config_inventory inventory;
    char message[256];
    CHECK_CODE(ipxe_config_load(static_block + 1, sizeof static_block - 1, STATIC_NODES,
                                STATIC_PORTS, STATIC_STRING_BYTES, (const uint8_t *)INVENTORY,
                                strlen(INVENTORY), &inventory, message, sizeof message),
               IPXE_CONFIG_OK);
    CHECK(inventory.node_count == 2);
}

static void error_texts(void) {
    const char *unknown = ipxe_config_strerror(12345);
    CHECK(unknown != NULL);
    for (int code = IPXE_CONFIG_ERR_BUFFER_TOO_SMALL; code <= IPXE_CONFIG_OK; code++) {
        const char *text = ipxe_config_strerror(code);
        CHECK(text != NULL && text[0] != '\0' && strcmp(text, unknown) != 0);
    }
    CHECK(strcmp(ipxe_config_script_kind_name(-1), "unknown") == 0);
}

/* Reads a whole file; NULL if it cannot be read. */
static char *read_file(const char *path, size_t *len) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        return NULL;
    }
    char *text = NULL;
    size_t size = 0;
    if (fseek(file, 0, SEEK_END) == 0) {
        long end = ftell(file);
        if (end >= 0 && fseek(file, 0, SEEK_SET) == 0) {
            size = (size_t)end;
            text = malloc(size + 1);
            if (text != NULL && fread(text, 1, size, file) != size) {
                free(text);
                text = NULL;
            }
        }
    }
    fclose(file);
    if (text != NULL) {
        text[size] = '\0';
        *len = size;
    }
    return text;
}

static size_t count(const char *text, const char *needle) {
    size_t n = 0;
    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle)) {
        n++;
    }
    return n;
}

/* The fixture's contents are not known here, so its checks hold for any inventory with a
 * deploying node reachable by MAC. */
static void fixture_inventory(const char *path) {
    size_t len = 0;
    char *json = read_file(path, &len);
    if (json == NULL) {
        printf("%s: not present, inline inventory only\n", path);
        return;
    }
    /* Upper bounds: every node has a "uuid" key, every port an "address" key, and the
     * string pool never needs more bytes than the document. */
    size_t max_nodes = count(json, "\"uuid\"") + 1;
    size_t max_ports = count(json, "\"address\"") + 1;
    ipxe_config_inventory inventory;
    uint8_t *block;
    char message[512];
    int code = load(json, len, max_nodes, max_ports, &inventory, &block, message, sizeof message);
    CHECK_CODE(code, IPXE_CONFIG_OK);
    if (code != IPXE_CONFIG_OK) {
        fprintf(stderr, "%s: %s\n", path, message);
        free(json);
        free(block);
        return;
    }
    printf("%s: %zu nodes, %zu PXE-enabled ports\n", path, inventory.node_count,
           inventory.port_count);
    ipxe_config_settings settings;
    ipxe_config_settings_default(&settings);

    static answer a;
    render(&inventory, &settings, ENDPOINT "?node_uuid=" UNKNOWN_UUID, 16384, &a);
    CHECK(a.code == IPXE_CONFIG_OK && a.info.script_kind == IPXE_CONFIG_SCRIPT_ERROR);
    CHECK(starts_with(a.text, "#!ipxe\n"));

    size_t deploys = 0;
    for (const char *at = strstr(json, "\"address\""); at != NULL;
         at = strstr(at + 1, "\"address\"")) {
        const char *value = strchr(at + strlen("\"address\""), '"');
        const char *end = value ? strchr(value + 1, '"') : NULL;
        if (end == NULL || end - value > 40) {
            continue;
        }
        char target[256];
        snprintf(target, sizeof target, "/v1/drivers/any/vendor_passthru/ipxe_config"
                                        "?port_address=%.*s",
                 (int)(end - value - 1), value + 1);
        render(&inventory, &settings, target, 16384, &a);
        CHECK(a.code == IPXE_CONFIG_OK && a.info.http_status == 200);
        CHECK(starts_with(a.text, "#!ipxe\n"));
        if (a.info.script_kind == IPXE_CONFIG_SCRIPT_DEPLOY) {
            deploys++;
            CHECK(strstr(a.text, "\nkernel ") != NULL && strstr(a.text, "\ninitrd ") != NULL);
        }
    }
    if (deploys == 0) {
        fprintf(stderr, "%s: no PXE-enabled port of a deploying node\n", path);
    }
    CHECK(deploys > 0);
    free(json);
    free(block);
}

int main(int argc, char **argv) {
    inline_inventory();
    load_errors();
    static_storage();
    error_texts();
    fixture_inventory(argc > 1 ? argv[1] : "fixtures/inventory.json");
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
