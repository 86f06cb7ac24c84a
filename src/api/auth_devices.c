/* auth_devices.c: GET /v1/devices (full session) and DELETE
 * /v1/devices/{id} (full and fresh: removing a device ends its sessions, so
 * a thief holding one session must not be able to evict the owner's phone
 * without the second factor). */
#include "api/auth_common.h"
#include "api/auth_handlers.h"
#include "api/authn.h"
#include "auth/device.h"
#include "http/reply.h"
#include "http/request.h"
#include "store/pool.h"
#include "util/ids.h"

enum http_verdict api_devices_get(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct auth_session s;
    struct device_info list[DEVICE_LIST_MAX];
    size_t n = 0;
    enum err e = api_authenticate(req, &a, SESSION_NEED_FULL, &s);
    if (e == ERR_OK)
        e = device_list(&a, &s, list, DEVICE_LIST_MAX, &n);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *item = json_pack("{s:o, s:s, s:o, s:o, s:o, s:b}", "id", api_id_json(DEVICE_ID_PREFIX, list[i].id),
                                 "name", list[i].name, "first_seen_at", api_time_json(list[i].first_seen_ms),
                                 "last_seen_at", api_time_json(list[i].last_seen_ms), "new_until",
                                 api_time_json(list[i].new_until_ms), "current", list[i].current);
        if (item == NULL || json_array_append_new(arr, item) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    json_t *body = arr ? json_pack("{s:o}", "devices", arr) : NULL;
    if (body == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    return http_reply_json(req, 200, body);
}

enum http_verdict api_device_delete(struct http_request *req, void *app)
{
    struct api_ctx *ctx = app;
    struct store *st = store_pool_acquire(ctx->pool);
    struct auth_ctx a;
    api_auth_ctx(&a, ctx, st, req);
    struct auth_session s;
    enum err e = api_authenticate(req, &a, SESSION_NEED_FRESH, &s);
    int64_t id = 0;
    if (e == ERR_OK && ids_parse(http_request_param(req, "id"), DEVICE_ID_PREFIX, &id) != ERR_OK)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        e = device_remove(&a, &s, id);
    store_pool_release(ctx->pool, st);
    if (e != ERR_OK)
        return http_reply_error(req, e, NULL);
    return http_reply_no_content(req);
}
