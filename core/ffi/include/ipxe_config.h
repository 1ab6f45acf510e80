/*
 * ipxe_config.h: C interface of the ipxe-config renderer (crate `ipxe-config-ffi`).
 *
 * Renders iPXE boot scripts for bare-metal nodes from an Ironic-shaped JSON inventory.
 * Nothing is allocated: the inventory lives in one block of caller memory and scripts are
 * written into caller buffers. Returned strings are static. No function panics or aborts
 * on bad input; every failure is a negative IPXE_CONFIG_ERR_* code.
 *
 * Build and link:
 *   cargo build -p ipxe-config-ffi --release
 *   cc -I core/ffi/include app.c target/release/libipxe_config_ffi.a -lpthread -ldl -lm
 *
 * Threads: ipxe_config_render only reads the storage, the handle and the settings, so
 * any number of threads may render from one loaded inventory. Loading writes the
 * storage: to reload while serving, load into a second storage block and swap handles.
 *
 * Kept by hand; `xtask::ffi::check_header` compares it with the Rust source (function
 * names, parameter counts and names, struct field names, constant values).
 */
#ifndef IPXE_CONFIG_H
#define IPXE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
#define IPXE_CONFIG_OK (0)
#define IPXE_CONFIG_ERR_BAD_POINTER (-1)        /* a required pointer is NULL or misaligned */
#define IPXE_CONFIG_ERR_BAD_LENGTH (-2)         /* length > PTRDIFF_MAX, or capacities overflow */
#define IPXE_CONFIG_ERR_STORAGE_TOO_SMALL (-3)  /* see ipxe_config_storage_size */
#define IPXE_CONFIG_ERR_INVENTORY_INVALID (-4)  /* the error message names node and field */
#define IPXE_CONFIG_ERR_INVENTORY_CAPACITY (-5) /* the error message names the limit */
#define IPXE_CONFIG_ERR_NOT_LOADED (-6)         /* handle not from a successful load */
#define IPXE_CONFIG_ERR_SETTINGS_NOT_UTF8 (-7)
#define IPXE_CONFIG_ERR_SETTINGS_INVALID (-8)   /* see ipxe_config_settings_check */
#define IPXE_CONFIG_ERR_BAD_REQUEST (-9)        /* answer 400 */
#define IPXE_CONFIG_ERR_NOT_FOUND (-10)         /* answer 404 */
#define IPXE_CONFIG_ERR_TARGET_TOO_LONG (-11)   /* answer 414 */
#define IPXE_CONFIG_ERR_BUFFER_TOO_SMALL (-12)  /* *out_written is the size needed */

/* ipxe_config_result.script_kind */
#define IPXE_CONFIG_SCRIPT_NONE (0)
#define IPXE_CONFIG_SCRIPT_DEPLOY (1)
#define IPXE_CONFIG_SCRIPT_RESCUE (2)
#define IPXE_CONFIG_SCRIPT_INSTANCE (3)
#define IPXE_CONFIG_SCRIPT_INSTANCE_RAMDISK (4)
#define IPXE_CONFIG_SCRIPT_LOCAL_DISK (5)
#define IPXE_CONFIG_SCRIPT_ERROR (6) /* still HTTP 200: iPXE runs only 2xx bodies */
#define IPXE_CONFIG_SCRIPT_CHAIN (7)

/* ipxe_config_result.refusal: why a node got an error script. */
#define IPXE_CONFIG_REFUSAL_NONE (0)
#define IPXE_CONFIG_REFUSAL_UNKNOWN_NODE (1)
#define IPXE_CONFIG_REFUSAL_UNKNOWN_ADDRESS (2)
#define IPXE_CONFIG_REFUSAL_DRIVER_MISMATCH (3)
#define IPXE_CONFIG_REFUSAL_UNBOOTABLE_STATE (4)
#define IPXE_CONFIG_REFUSAL_MISSING_VALUE (5)
#define IPXE_CONFIG_REFUSAL_UNSAFE_VALUE (6)

/* ipxe_config_settings.error_ending (zero is the default) */
#define IPXE_CONFIG_ENDING_REBOOT (0)
#define IPXE_CONFIG_ENDING_EXIT (1)  /* `exit 1`: the firmware's boot order moves on */
#define IPXE_CONFIG_ENDING_RETRY (2) /* chain the same URL again */

/* ipxe_config_settings.boot_mode, for nodes whose boot_mode is null (zero is the default) */
#define IPXE_CONFIG_BOOT_MODE_UEFI (0)
#define IPXE_CONFIG_BOOT_MODE_BIOS (1)

/*
 * A loaded inventory: where it lies in the caller's storage. Filled by ipxe_config_load
 * only; keep it by value. node_count, port_count and string_bytes may be read (for logs).
 * Valid while the storage block is alive and unchanged.
 */
typedef struct ipxe_config_inventory {
    const void *nodes;   /* private */
    const void *ports;   /* private */
    const void *strings; /* private */
    size_t node_count;
    size_t port_count;
    size_t string_bytes;
    size_t magic;        /* private */
} ipxe_config_inventory;

/*
 * Settings for every node. Strings are NUL-terminated UTF-8; NULL or "" means unset
 * (any_driver: NULL means "any"). Read on each call, never kept. Start from
 * ipxe_config_settings_default; an all-zero struct is also valid (0 retries, no pause).
 */
typedef struct ipxe_config_settings {
    const char *base_url;       /* this server, e.g. "http://10.99.0.1"; NULL: relative URLs */
    const char *ipa_api_url;    /* ipa-api-url= for the deploy ramdisk */
    const char *deploy_kernel;  /* defaults for nodes without driver_info values */
    const char *deploy_ramdisk;
    const char *rescue_kernel;
    const char *rescue_ramdisk;
    const char *append_params;  /* kernel parameters for nodes without their own */
    const char *any_driver;     /* driver name that matches every node; NULL: "any" */
    uint32_t fetch_timeout_ms;  /* --timeout for image fetches; 0: iPXE's default */
    uint16_t retries;           /* fetch retries (Ironic: 10) */
    uint16_t error_pause_seconds;
    int32_t error_ending;       /* IPXE_CONFIG_ENDING_* */
    int32_t boot_mode;          /* IPXE_CONFIG_BOOT_MODE_* */
} ipxe_config_settings;

/* What ipxe_config_render did. */
typedef struct ipxe_config_result {
    const char *reason;   /* static: the 4xx body, or why an error script; "" otherwise */
    uint32_t http_status; /* 200, 400, 404, 414; 0 if the call itself failed */
    int32_t script_kind;  /* IPXE_CONFIG_SCRIPT_* */
    int32_t refusal;      /* IPXE_CONFIG_REFUSAL_*, for error scripts */
    uint32_t has_node;    /* 1 if node_uuid is set */
    uint8_t node_uuid[16];
} ipxe_config_result;

/*
 * Bytes of storage ipxe_config_load needs for these capacities, alignment slack
 * included (any pointer will do), or 0 if they overflow the address space.
 * string_bytes bounds the string pool; the JSON document's length is always enough.
 */
size_t ipxe_config_storage_size(size_t max_nodes, size_t max_ports, size_t string_bytes);

/*
 * Loads a JSON inventory ({"nodes": [...], "ports": [...]}, Ironic API shapes) into
 * `storage` and fills *out_handle. The JSON is not kept. On failure returns a negative
 * code, leaves *out_handle unloaded and, if error_message is not NULL, writes the reason
 * (e.g. "node 1be2...: driver_info.deploy_kernel: contains a line break"),
 * NUL-terminated within error_message_len bytes.
 */
int ipxe_config_load(void *storage, size_t storage_len, size_t max_nodes, size_t max_ports,
                     size_t string_bytes, const uint8_t *json, size_t json_len,
                     ipxe_config_inventory *out_handle, char *error_message,
                     size_t error_message_len);

/* Fills *settings with the defaults (10 retries, UEFI, 10 s error pause, reboot). */
void ipxe_config_settings_default(ipxe_config_settings *settings);

/* Checks settings (e.g. at start-up) and names a bad one in error_message. */
int ipxe_config_settings_check(const ipxe_config_settings *settings, char *error_message,
                               size_t error_message_len);

/*
 * Renders the answer to a request target ("/v1/drivers/{driver}/vendor_passthru/
 * ipxe_config?port_address=..." or "?node_uuid=...", or "/boot.ipxe") into `out`.
 *   IPXE_CONFIG_OK: *out_written script bytes, info->http_status 200.
 *   ERR_BAD_REQUEST / ERR_NOT_FOUND / ERR_TARGET_TOO_LONG: answer info->http_status with
 *     info->reason as the body.
 *   ERR_BUFFER_TOO_SMALL: *out_written is the size needed; `out` holds nothing usable.
 *     (out = NULL with out_len = 0 asks for the size.)
 * `info` may be NULL. Content-Type of a script is text/plain.
 */
int ipxe_config_render(const ipxe_config_inventory *inventory,
                       const ipxe_config_settings *settings, const uint8_t *target,
                       size_t target_len, uint8_t *out, size_t out_len, size_t *out_written,
                       ipxe_config_result *info);

/* Static name of an IPXE_CONFIG_SCRIPT_* value ("deploy", "error", ...). */
const char *ipxe_config_script_kind_name(int kind);

/* Static description of a return code; never NULL. */
const char *ipxe_config_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* IPXE_CONFIG_H */
