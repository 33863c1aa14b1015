#!/usr/bin/env python3
"""Writes the realistic test messages in testdata/cases/*.txt (run from
internal/debezium). The want sections are filled by
`go test -run TestCases -update` and then reviewed by hand.

Case file format: sections "-- topic --", "-- key --", "-- value --",
"-- headers --" (one "name: value" per line) and "-- want --". A missing
key/value section means a nil key/value; an empty one an empty slice.
The JSON is written compactly, as the JsonConverter does."""
import json, os

def j(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)

def f(field, typ, optional=False, name=None, params=None, **extra):
    d = {"type": typ, "optional": optional}
    if name: d["name"] = name
    if name and name.startswith(("io.debezium", "org.apache")): d["version"] = 1
    if params: d["parameters"] = params
    d.update(extra)
    d["field"] = field
    return d

DEC = "org.apache.kafka.connect.data.Decimal"
ZTS = "io.debezium.time.ZonedTimestamp"

def dec(field, optional=False):
    return f(field, "bytes", optional, DEC, {"scale": "2", "connect.decimal.precision": "12"})

# scripts/shop/schema.sql orders, plus a text[] and a jsonb column.
ORDER_COLS = [
    f("order_id", "int64", default=0),
    f("order_uuid", "string", False, "io.debezium.data.Uuid", default="00000000-0000-0000-0000-000000000000"),
    f("customer_id", "int64"),
    f("status", "string", False, "io.debezium.data.Enum",
      {"allowed": "pending,confirmed,shipped,delivered,cancelled"}, default="pending"),
    f("order_date", "string", False, ZTS, default="1970-01-01T00:00:00Z"),
    dec("total_amount"), dec("discount"), dec("final_amount"),
    f("currency", "string", default="EUR"),
    f("pickup_at", "int64", True, "io.debezium.time.MicroTimestamp"),
    f("shipping_address", "string", True),
    f("notes", "string", True),
    {"type": "array", "items": {"type": "string", "optional": True}, "optional": True, "field": "tags"},
    f("metadata", "string", True, "io.debezium.data.Json"),
    f("created_at", "string", False, ZTS),
    f("updated_at", "string", False, ZTS),
]
META_COLS = [f("__deleted", "string", True), f("__op", "string", True), f("__table", "string", True),
             f("__lsn", "int64", True), f("__source_ts_ms", "int64", True), f("__db", "string", True)]

def struct(name, cols, optional=False):
    return {"type": "struct", "fields": cols, "optional": optional, "name": name}

def order_row(**over):
    row = {
        "order_id": 1001, "order_uuid": "3f1c2a9e-6b7d-4e2f-9a1b-0c8d7e6f5a4b", "customer_id": 42,
        "status": "confirmed", "order_date": "2025-03-01T10:15:30.123456Z",
        "total_amount": "MDk=", "discount": "AA==", "final_amount": "MDk=", "currency": "EUR",
        "pickup_at": 1740824130123456, "shipping_address": None,
        "notes": "gift wrap, \"fragile\"\nsecond line \u00e9\u20ac",
        "tags": ["express", None, "vip"],
        "metadata": "{\"channel\": \"web\", \"utm\": {\"source\": \"news\\\"letter\"}}",
        "created_at": "2025-03-01T10:15:30.123456Z", "updated_at": "2025-03-01T10:15:30.123456Z",
    }
    row.update(over)
    return row

SOURCE_COLS = [
    f("version", "string"), f("connector", "string"), f("name", "string"), f("ts_ms", "int64"),
    f("snapshot", "string", True, "io.debezium.data.Enum",
      {"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
      default="false"),
    f("db", "string"), f("sequence", "string", True), f("ts_us", "int64", True), f("ts_ns", "int64", True),
    f("schema", "string"), f("table", "string"), f("txId", "int64", True), f("lsn", "int64", True),
    f("xmin", "int64", True),
]
SOURCE_SCHEMA = dict(struct("io.debezium.connector.postgresql.Source", SOURCE_COLS), version=1)
SOURCE_SCHEMA["field"] = "source"

def envelope_schema(prefix, table, cols):
    value = f"{prefix}.public.{table}.Value"
    return {"type": "struct", "name": f"{prefix}.public.{table}.Envelope", "version": 2, "optional": False,
            "fields": [
                dict(struct(value, cols, True), field="before"),
                dict(struct(value, cols, True), field="after"),
                SOURCE_SCHEMA,
                {"type": "struct", "optional": True, "name": "event.block", "version": 1, "field": "transaction",
                 "fields": [f("id", "string"), f("total_order", "int64"), f("data_collection_order", "int64")]},
                f("op", "string"), f("ts_ms", "int64", True), f("ts_us", "int64", True), f("ts_ns", "int64", True)]}

def source(lsn=24023128, snapshot="false", ts=1740824130123, txid=555, seq=None, prefix="ecommerce", table="orders"):
    return {"version": "3.2.0.Final", "connector": "postgresql", "name": prefix, "ts_ms": ts,
            "snapshot": snapshot, "db": "shopdb",
            "sequence": seq if seq is not None else (None if lsn is None else j(["24023119", str(lsn)])),
            "ts_us": ts * 1000, "ts_ns": ts * 1000000, "schema": "public", "table": table,
            "txId": txid, "lsn": lsn, "xmin": None}

def env(op, before, after, src, tx=None):
    return {"before": before, "after": after, "source": src, "transaction": tx, "op": op,
            "ts_ms": 1740824130456, "ts_us": 1740824130456789, "ts_ns": 1740824130456789012}

KEY_SCHEMA = struct("ecommerce.public.orders.Key", [f("order_id", "int64", default=0)])
def key(v=1001, schema=True):
    p = {"order_id": v}
    return j({"schema": KEY_SCHEMA, "payload": p}) if schema else j(p)

UNWRAP_SCHEMA = struct("ecommerce.public.orders.Value", ORDER_COLS + META_COLS)
def unwrapped(row, deleted, op, lsn, ts=1740824130123):
    r = dict(row)
    r.update({"__deleted": deleted, "__op": op, "__table": "orders", "__lsn": lsn,
              "__source_ts_ms": ts, "__db": "shopdb"})
    return r

cases = {}
def case(name, topic, key=None, value=None, headers=None, comment=""):
    cases[name] = (topic, key, value, headers, comment)

UT = "cdc.ecommerce.public.orders"
ET = "cdc.envelope.public.orders"

# --- the project's unwrap topics (schemas on, rewrite, add.fields) ---
case("unwrap_schema_create", UT, key(), j({"schema": UNWRAP_SCHEMA, "payload": unwrapped(order_row(), "false", "c", 24023128)}),
     comment="orders row: numeric(12,2) base64, timestamptz, uuid, jsonb with escapes, text[] with a null, nulls")
case("unwrap_schema_update_toast", UT, key(), j({"schema": UNWRAP_SCHEMA, "payload": unwrapped(
    order_row(status="shipped", notes="__debezium_unavailable_value", final_amount="B88=",
              updated_at="2025-03-02T08:00:00.000001Z"), "false", "u", 24023400, 1740900000001)}),
     comment="update; notes is an unchanged TOAST value")
case("unwrap_schema_rewrite_delete", UT, key(), j({"schema": UNWRAP_SCHEMA, "payload": unwrapped(
    order_row(customer_id=0, status="pending", total_amount="AA==", final_amount="AA==", notes=None, tags=None,
              metadata=None, pickup_at=None, order_uuid="00000000-0000-0000-0000-000000000000",
              order_date="1970-01-01T00:00:00Z", created_at="1970-01-01T00:00:00Z",
              updated_at="1970-01-01T00:00:00Z"), "true", "d", 24023600, 1740824300001)}),
     comment="rewrite mode delete: before image with fallbacks, __deleted true")
case("unwrap_schema_snapshot_read", UT, key(7), j({"schema": UNWRAP_SCHEMA, "payload": unwrapped(
    order_row(order_id=7, total_amount="ZA==", final_amount="ZA==", tags=[]), "false", "r", 24023000, 1740820000000)}),
     comment="snapshot read via __op r")
schema2 = struct("ecommerce.public.orders.Value", ORDER_COLS + [f("loyalty_points", "int32", True)] + META_COLS)
case("unwrap_schema_new_column", UT, key(), j({"schema": schema2, "payload": unwrapped(
    dict(order_row(), loyalty_points=12), "false", "u", 24024000)}),
     comment="ALTER TABLE ADD COLUMN: the schema gains loyalty_points")
case("unwrap_tombstone_mode_payload_null", UT, key(), j({"schema": struct("ecommerce.public.orders.Value", ORDER_COLS, True), "payload": None}),
     comment="unwrap delete.tombstone.handling.mode=tombstone, schemas on")
case("unwrap_tombstone_mode_null", UT, key(schema=False), "null",
     comment="unwrap delete.tombstone.handling.mode=tombstone, schemas off")
case("unwrap_tombstone_mode_null_headers", UT, key(schema=False), "null",
     headers="__op: d\n__db: shopdb\n__lsn: 24023600\n__source_ts_ms: 1740824300001",
     comment="tombstone mode with add.headers=op,db,lsn,source.ts_ms")
case("tombstone", UT, key(), None, comment="Kafka tombstone: nil value")
case("tombstone_empty", UT, key(schema=False), "", comment="Kafka tombstone: empty value")
case("unwrap_schemaless_create", "shop.public.orders", j({"id": 1001}),
     j({"id": 1001, "customer_id": 42, "amount": "MDk=", "note": "first order",
        "created_at": "2025-03-01T10:15:30.123456Z", "__deleted": "false", "__op": "c", "__table": "orders",
        "__lsn": 24023128, "__source_ts_ms": 1740824130123}),
     comment="doc 3.3 create example (schemas off)")
case("unwrap_schemaless_delete", "shop.public.orders", j({"id": 1001}),
     j({"id": 1001, "customer_id": 0, "amount": "AA==", "note": None, "created_at": "1970-01-01T00:00:00Z",
        "__deleted": "true", "__op": "d", "__table": "orders", "__lsn": 24023600, "__source_ts_ms": 1740824300001}),
     comment="doc 3.3 delete example (schemas off)")
case("unwrap_schemaless_no_meta", "shop.public.orders", j({"id": 5}), j({"id": 5, "note": "x", "__deleted": "false"}),
     comment="rewrite without add.fields: no __op, so an upsert (u)")

# --- the project's envelope topics (schemas off) ---
case("envelope_create", ET, key(schema=False), j(env("c", None, order_row(), source())))
case("envelope_update", ET, key(schema=False), j(env("u", None, order_row(status="shipped"), source(24023400, txid=556))),
     comment="REPLICA IDENTITY DEFAULT: before null")
case("envelope_delete", ET, key(schema=False), j(env("d", order_row(customer_id=0, notes=None), None, source(24023600, txid=557))))
case("envelope_delete_no_before", ET, key(schema=False), j(env("d", None, None, source(24023601, txid=558))),
     comment="REPLICA IDENTITY NOTHING: key-only delete")
case("envelope_snapshot_read", ET, key(1, schema=False), j(env("r", None, order_row(order_id=1), source(24023000, snapshot="first", txid=540, seq=j([None, "24023000"])))))
case("envelope_incremental_snapshot", ET, key(2, schema=False), j(env("r", None, order_row(order_id=2), source(None, snapshot="incremental", txid=None, seq=None))),
     comment="incremental snapshot: no lsn, no txId")
src_seq = source(None, seq=j(["24023119", "24023130"]))
case("envelope_lsn_from_sequence", ET, key(schema=False), j(env("u", None, order_row(), src_seq)),
     comment="lsn null: LSN from the second element of sequence")
case("envelope_truncate", ET, None, j(env("t", None, None, source(24025000, txid=600))), comment="truncate: key null")
case("envelope_tx_block", ET, key(schema=False), j(env("c", None, order_row(), source(),
     tx={"id": "571", "total_order": 1, "data_collection_order": 1})))
case("envelope_schema_create", "shop.public.orders", key(),
     j({"schema": envelope_schema("shop", "orders", ORDER_COLS), "payload": env("c", None, order_row(), source(prefix="shop"))}),
     comment="full envelope with schemas on")
case("envelope_schema_truncate", "shop.public.orders", None,
     j({"schema": envelope_schema("shop", "orders", ORDER_COLS), "payload": env("t", None, None, source(prefix="shop"))}))
case("message", "shop.message", j({"prefix": "audit"}), j({"op": "m", "ts_ms": 1740824130456,
     "source": dict(source(24026000, prefix="shop", txid=None), schema="", table=""),
     "message": {"prefix": "audit", "content": "aGVsbG8="}}), comment="logical decoding message")

# --- heartbeats and transaction metadata ---
HB_KEY_SCHEMA = {"type": "struct", "fields": [f("serverName", "string")], "optional": False,
                 "name": "io.debezium.connector.common.ServerNameKey", "version": 1}
HB_SCHEMA = {"type": "struct", "fields": [f("ts_ms", "int64")], "optional": False,
             "name": "io.debezium.connector.common.Heartbeat", "version": 1}
case("heartbeat_schema", "__debezium-heartbeat.ecommerce", j({"schema": HB_KEY_SCHEMA, "payload": {"serverName": "ecommerce"}}),
     j({"schema": HB_SCHEMA, "payload": {"ts_ms": 1740824140000}}))
case("heartbeat_schemaless", "__debezium-heartbeat.ecommerce", j({"serverName": "ecommerce"}), j({"ts_ms": 1740824140000}))
case("heartbeat_custom_topic", "hb.ecommerce", j({"serverName": "ecommerce"}), j({"ts_ms": 1740824140000}),
     comment="topic.heartbeat.name: recognised by content")
case("tx_begin", "ecommerce.transaction", j({"id": "571"}),
     j({"status": "BEGIN", "id": "571", "event_count": None, "data_collections": None, "ts_ms": 1486500577125}))
case("tx_end", "ecommerce.transaction", j({"id": "571"}),
     j({"status": "END", "id": "571", "event_count": 2, "data_collections": [
         {"data_collection": "public.orders", "event_count": 1}, {"data_collection": "public.customers", "event_count": 1}],
       "ts_ms": 1486500577691}))
TX_SCHEMA = {"type": "struct", "optional": False, "name": "io.debezium.connector.common.TransactionMetadataValue", "version": 1,
             "fields": [f("status", "string"), f("id", "string"), f("event_count", "int64", True),
                        {"type": "array", "items": {"type": "struct", "optional": False, "name": "event.collection", "version": 1,
                         "fields": [f("data_collection", "string"), f("event_count", "int64")]}, "optional": True, "field": "data_collections"},
                        f("ts_ms", "int64")]}
case("tx_begin_schema", "ecommerce.transaction", j({"id": "572"}),
     j({"schema": TX_SCHEMA, "payload": {"status": "BEGIN", "id": "572", "event_count": None, "data_collections": None, "ts_ms": 1486500578000}}))

# --- from docs/debezium-format.md, verbatim layout (spaces, pretty) ---
case("doc_1_5_create", "shop.public.orders", '{"id":1001}', '''{
  "before": null,
  "after": { "id": 1001, "customer_id": 42, "amount": "MDk=", "note": "first order",
             "created_at": "2025-03-01T10:15:30.123456Z" },
  "source": {
    "version": "3.2.0.Final", "connector": "postgresql", "name": "shop",
    "ts_ms": 1740824130123, "snapshot": "false", "db": "shopdb",
    "sequence": "[\\"24023119\\",\\"24023128\\"]",
    "ts_us": 1740824130123456, "ts_ns": 1740824130123456000,
    "schema": "public", "table": "orders", "txId": 555, "lsn": 24023128, "xmin": null
  },
  "transaction": null,
  "op": "c", "ts_ms": 1740824130456, "ts_us": 1740824130456789, "ts_ns": 1740824130456789012
}''')
case("doc_6_2_snapshot", "shop.public.orders", '{"id":1}', '''{
  "before": null,
  "after": { "id": 1, "customer_id": 7, "amount": "ZA==", "note": null,
             "created_at": "2024-12-31T23:00:00.000000Z" },
  "source": { "version": "3.2.0.Final", "connector": "postgresql", "name": "shop",
              "ts_ms": 1740820000000, "snapshot": "first", "db": "shopdb",
              "sequence": "[null,\\"24023000\\"]", "ts_us": 1740820000000000,
              "ts_ns": 1740820000000000000,
              "schema": "public", "table": "orders", "txId": 540, "lsn": 24023000, "xmin": null },
  "transaction": null,
  "op": "r", "ts_ms": 1740820000123, "ts_us": 1740820000123456, "ts_ns": 1740820000123456789
}''')
case("doc_1_3_key_schema", "shop.public.orders", '''{ "schema": { "type": "struct", "fields": [ { "type": "int64", "optional": false, "field": "id" } ],
              "optional": false, "name": "shop.public.orders.Key" },
  "payload": { "id": 1001 } }''', None, comment="doc 1.3 key with schema, tombstone value")
case("numeric_variable_scale", "shop.public.prices", j({"id": 1}), j({"id": 1, "price": {"scale": 1, "value": "Dw=="}, "nan": "NaN", "big": 9223372036825200000, "__op": "c"}),
     comment="VariableScaleDecimal struct, quoted NaN, timestamp infinity sentinel")

# --- poison ---
P = "cdc.envelope.public.orders"
case("poison_truncated", P, key(schema=False), j(env("c", None, order_row(), source()))[:-20])
case("poison_bad_escape", P, key(schema=False), '{"before":null,"after":{"id":1,"n":"a\\qb"},"source":{},"op":"c"}')
case("poison_trailing", P, key(schema=False), j(env("c", None, {"id": 1}, source())) + "}")
case("poison_control_char", P, key(schema=False), '{"id":1,"n":"a\tb"}')
case("poison_bad_number", P, key(schema=False), '{"id":01}')
case("poison_key_malformed", P, '{"order_id":', j(env("c", None, {"id": 1}, source())))
case("poison_key_not_object", P, '"1001"', j(env("c", None, {"id": 1}, source())))
case("poison_unknown_op", P, key(schema=False), j(env("x", None, {"id": 1}, source())))
case("poison_unknown_op_long", P, key(schema=False), j(env("cc", None, {"id": 1}, source())))
case("poison_unknown_op_unwrap", UT, key(schema=False), j({"id": 1, "__op": "z"}))
case("poison_missing_op", "shop.public.orders", key(),
     j({"schema": envelope_schema("shop", "orders", ORDER_COLS), "payload": {"before": None, "after": {"order_id": 1}, "source": source()}}))
case("poison_null_op", P, key(schema=False), j(dict(env("c", None, {"id": 1}, source()), op=None)))
case("poison_missing_after", P, key(schema=False), j(env("c", None, None, source())))
case("poison_after_not_object", P, key(schema=False), j(env("u", None, "oops", source())))
case("poison_schema_no_type", UT, key(), j({"schema": {"fields": [], "optional": False}, "payload": {"id": 1}}))
case("poison_schema_not_object", UT, key(), j({"schema": 5, "payload": {"id": 1}}))
case("poison_schema_bad_fields", UT, key(), j({"schema": {"type": "struct", "fields": {"a": 1}}, "payload": {"id": 1}}))
case("poison_value_array", UT, key(), "[1,2]")
case("poison_value_string", UT, key(), '"hello"')
case("poison_payload_string", UT, key(), j({"schema": {"type": "string", "optional": False}, "payload": "hello"}))
case("poison_lsn_string", UT, key(schema=False), j({"id": 1, "__lsn": "abc"}))
case("poison_lsn_negative", P, key(schema=False), j(env("c", None, {"id": 1}, source(-5))))
case("poison_deleted_yes", UT, key(schema=False), j({"id": 1, "__deleted": "yes"}))
case("poison_tx_status", "ecommerce.transaction", j({"id": "571"}),
     j({"status": "MAYBE", "id": "571", "event_count": None, "data_collections": None, "ts_ms": 1}))
case("poison_whitespace", UT, key(schema=False), "   ")
case("poison_deep", UT, key(schema=False), '{"a":' + "[" * 600 + "]" * 600 + "}")
case("poison_header_lsn", UT, key(schema=False), "null", headers="__lsn: x12")

os.makedirs("testdata/cases", exist_ok=True)
for name, (topic, k, v, headers, comment) in cases.items():
    parts = []
    if comment:
        parts.append(comment + "\n")
    parts.append("-- topic --\n" + topic + "\n")
    if k is not None:
        parts.append("-- key --\n" + k + ("\n" if k else ""))
    if v is not None:
        parts.append("-- value --\n" + v + ("\n" if v else ""))
    if headers:
        parts.append("-- headers --\n" + headers + "\n")
    path = f"testdata/cases/{name}.txt"
    want = ""
    if os.path.exists(path):
        old = open(path).read()
        if "-- want --\n" in old:
            want = old[old.index("-- want --\n"):]
    open(path, "w").write("".join(parts) + want)
print(len(cases), "cases")
