"""A voucher program set up over JSON-RPC, on either base.

``rpc`` is the e2e tests' ``OdooRPC`` (``call``, ``link_payment_manager``,
``create_cycle``); ``cr`` a psycopg2 cursor on the same database, for the bulk
rows (see ``bulk``).
"""

from . import bulk

MANAGER_MODEL = "g2p.program.payment.manager.file"
CHUNK_FIELD = "voucher_chunk_size"
QR_NAME = "voucher_qr"
BARCODE_NAME = "voucher_barcode"

# A one-page voucher like the demo's: beneficiary, amount, reference, a signed
# JWT QR code and the reference as a Code-128 barcode.
VOUCHER_TEMPLATE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"/><style>
  body { font-family: DejaVu Sans, Arial, sans-serif; margin: 28px; color: #222; }
  .card { border: 2px solid #1f5f8b; border-radius: 10px; padding: 22px; }
  h1 { color: #1f5f8b; font-size: 24px; margin: 0 0 4px 0; }
  td { padding: 4px 14px 4px 0; font-size: 15px; }
</style></head>
<body><div class="card">
  <h1>Payment voucher</h1>
  <div><t t-out="object.program_id.name"/> - <t t-out="object.cycle_id.name"/></div>
  <table>
    <tr><td>Beneficiary</td><td><b t-out="object.partner_id.name"/></td></tr>
    <tr><td>National ID</td>
        <td t-out="object.partner_id.reg_ids[:1].value or '-'"/></tr>
    <tr><td>Phone</td><td t-out="object.partner_id.phone or '-'"/></tr>
    <tr><td>Amount</td><td><t t-out="object.currency_id.name"/>
        <t t-out="'%.2f' % object.amount_issued"/></td></tr>
    <tr><td>Reference</td><td t-out="object.name"/></tr>
  </table>
  <img style="width: 260px;"
       t-att-src="qrcodes.get_by_name('voucher_qr').content_htmlsafe"/>
  <img style="width: 320px;"
       t-att-src="qrcodes.get_by_name('voucher_barcode').content_htmlsafe"/>
</div></body></html>
"""
# The smallest voucher that still embeds both codes (fast e2e runs).
SMALL_TEMPLATE = (
    "<html><body><p t-out='object.name'/>"
    "<img t-att-src=\"qrcodes.get_by_name('voucher_qr').content_htmlsafe\"/>"
    "<img t-att-src=\"qrcodes.get_by_name('voucher_barcode').content_htmlsafe\"/>"
    "</body></html>"
)
CSV_TEMPLATE = "<t t-out='csv_quote(object.name)'/>,<t t-out='object.amount_issued'/>"
CLAIMS_TEMPLATE = (
    '{"payment": {{ json_dumps(object.name) }}, '
    '"beneficiary": {{ json_dumps(object.partner_id.name) }}, '
    '"amount": {{ json_dumps(object.amount_issued) }}, '
    '"currency": {{ json_dumps(object.currency_id.name) }}}'
)


def model_fields(rpc, model):
    return rpc.call(model, "fields_get", [], attributes=["type"])


def has_chunk_field(rpc):
    return CHUNK_FIELD in model_fields(rpc, MANAGER_MODEL)


def _store(rpc, name, directory):
    """(store id, its folder under <filestore>/storage or "")."""
    vals = {"name": name}
    fields = model_fields(rpc, "storage.backend")
    if "directory_path" not in fields:
        return rpc.call("storage.backend", "create", vals), ""
    # OCA storage_backend: a filesystem folder under the filestore.
    vals.update(backend_type="filesystem", directory_path=directory)
    return rpc.call("storage.backend", "create", vals), directory


def _program(rpc, name, store):
    """The real base takes the currency from a disbursement journal."""
    fields = model_fields(rpc, "g2p.program")
    vals = {"name": name, "supporting_documents_store": store}
    [company] = rpc.call("res.company", "search_read", [], ["currency_id"], limit=1)
    currency = company["currency_id"][0]
    if "journal_id" in fields:
        code = "B%d" % (rpc.call("account.journal", "search_count", []) + 1)
        vals["journal_id"] = rpc.call(
            "account.journal",
            "create",
            {
                "name": f"{name} disbursements",
                "code": code[:5],
                "type": "bank",
                "beneficiary_disb": True,
                "currency_id": currency,
            },
        )
    elif "currency_id" in fields:
        vals["currency_id"] = currency
    return rpc.call("g2p.program", "create", vals)


def _file_configs(rpc, name, template, with_csv):
    codes = [
        {
            "name": QR_NAME,
            "type": "qrcode",
            "data_type": "jwt",
            "body_string": CLAIMS_TEMPLATE,
            "validity_days": 90,
            "qrcode_box_size": 4,
        },
        {
            "name": BARCODE_NAME,
            "type": "code-128-barcode",
            "data_type": "string",
            "body_string": "{{ object.name[:13].upper() }}",
        },
    ]
    configs = [
        rpc.call(
            "g2p.payment.file.config",
            "create",
            {
                "name": f"{name} voucher",
                "type": "pdf",
                "body_string": template,
                "qrcode_config_ids": [(0, 0, vals) for vals in codes],
            },
        )
    ]
    if with_csv:
        configs.append(
            rpc.call(
                "g2p.payment.file.config",
                "create",
                {"name": f"{name} list", "type": "csv", "body_string": CSV_TEMPLATE},
            )
        )
    return configs


def voucher_program(
    rpc, name, *, directory, template=VOUCHER_TEMPLATE, with_csv=False, chunk_size=None
):
    """Program + store + file configs + File Payment Manager (ES256 key).

    ``chunk_size`` sets the manager's voucher_chunk_size when the field
    exists. Returns a dict of the ids.
    """
    store, store_directory = _store(rpc, f"{name} store", directory)
    program = _program(rpc, name, store)
    configs = _file_configs(rpc, name, template, with_csv)
    vals = {
        "name": f"{name} manager",
        "program_id": program,
        "create_batch": False,
        "payment_file_config_ids": [(6, 0, configs)],
        # Both bases pay only the entitlements a batch tag matches.
        "batch_tag_ids": [(0, 0, {"name": f"{name} all", "order": 1, "domain": "[]"})],
    }
    if chunk_size and has_chunk_field(rpc):
        vals[CHUNK_FIELD] = chunk_size
    manager = rpc.call(MANAGER_MODEL, "create", vals)
    rpc.link_payment_manager(program, MANAGER_MODEL, manager)
    [codes] = rpc.call(
        "g2p.payment.file.config", "read", configs[:1], ["qrcode_config_ids"]
    )
    return {
        "program": program,
        "store": store,
        "store_directory": store_directory,
        "manager": manager,
        "file_configs": configs,
        "qrcode_configs": codes["qrcode_config_ids"],
    }


def set_chunk_size(rpc, manager, size):
    rpc.call(MANAGER_MODEL, "write", [manager], {CHUNK_FIELD: size})


def registrants(rpc, cr, count, prefix, phone_base=0):
    """``count`` registrants: one through the ORM, the rest cloned in SQL."""
    template = rpc.call(
        "res.partner",
        "create",
        {
            "name": f"{prefix} 0000000",
            "is_registrant": True,
            "phone": "+2547%08d" % phone_base,
        },
    )
    ids = [template] + bulk.clone_partners(
        cr, template, count - 1, prefix, phone_base=phone_base
    )
    cr.connection.commit()
    return ids


def approved_cycle(rpc, cr, program, name, partner_ids, amount=100.0):
    """An approved cycle with one approved entitlement per partner."""
    cycle = rpc.create_cycle(program, name)
    template = rpc.call(
        "g2p.entitlement",
        "create",
        {
            "partner_id": partner_ids[0],
            "cycle_id": cycle,
            "initial_amount": amount,
            "state": "approved",
        },
    )
    bulk.clone_entitlements(cr, template, partner_ids[1:])
    bulk.analyze(cr)
    cr.connection.commit()
    return cycle


def record_id(rpc, xmlid):
    """Database id of ``module.name``, or None."""
    module, name = xmlid.split(".", 1)
    rows = rpc.call(
        "ir.model.data",
        "search_read",
        [("module", "=", module), ("name", "=", name)],
        ["res_id"],
    )
    return rows[0]["res_id"] if rows else None


def run_cron(rpc, xmlid):
    """Run a scheduled action now, as Settings > Scheduled Actions > Run Manually."""
    cron = record_id(rpc, xmlid)
    if not cron:
        raise LookupError(f"scheduled action {xmlid} does not exist")
    rpc.call("ir.cron", "method_direct_trigger", [cron])
    return cron
