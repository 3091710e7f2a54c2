"""Registrants and entitlements by the thousand, in SQL.

One template row is made through the ORM (JSON-RPC), so every column the
installed base sets by default or computes is right; it is then cloned with
``INSERT ... SELECT`` over ``generate_series``, overriding the columns that
must differ per row. 100,000 registrants take seconds instead of the ORM's
minutes. Columns an override names but the table lacks (the two bases differ)
are skipped.
"""

from psycopg2 import sql

# Per-row values of a cloned partner; ``g`` is the clone's 1-based number.
PARTNER_OVERRIDES = {
    "name": "%(prefix)s || ' ' || lpad(g::text, 7, '0')",
    "complete_name": "%(prefix)s || ' ' || lpad(g::text, 7, '0')",
    "phone": "'+2547' || lpad((%(phone_base)s + g)::text, 8, '0')",
    "email": "NULL",
    "create_date": "now() at time zone 'UTC'",
    "write_date": "now() at time zone 'UTC'",
}
# Per-row values of a cloned entitlement; ``p.id`` is its partner, ``g`` its
# number. ``code`` is unique on the real base, ``ern`` is its stored compute.
ENTITLEMENT_OVERRIDES = {
    "partner_id": "p.id",
    "code": "md5(t.code || '-' || t.id || '-' || g)",
    "ern": "lpad((g + 1000000000)::text, 10, '0')",
    "initial_amount": "10 + mod(g, 90)",
    "create_date": "now() at time zone 'UTC'",
    "write_date": "now() at time zone 'UTC'",
}


def table_columns(cr, table):
    cr.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s "
        "ORDER BY ordinal_position",
        (table,),
    )
    return [name for (name,) in cr.fetchall()]


def _select_list(columns, overrides, params):
    targets, values = [], []
    for column in columns:
        if column == "id":
            continue
        targets.append(sql.Identifier(column))
        if column in overrides:
            values.append(sql.SQL(overrides[column] % params))
        else:
            values.append(sql.SQL("t.{}").format(sql.Identifier(column)))
    return sql.SQL(", ").join(targets), sql.SQL(", ").join(values)


def clone_partners(cr, template_id, count, prefix, phone_base=0):
    """``count`` copies of res.partner ``template_id``; returns their ids."""
    if count <= 0:
        return []
    params = {
        "prefix": sql.Literal(prefix).as_string(cr),
        "phone_base": int(phone_base),
    }
    targets, values = _select_list(
        table_columns(cr, "res_partner"), PARTNER_OVERRIDES, params
    )
    cr.execute(
        sql.SQL(
            "INSERT INTO res_partner ({targets}) SELECT {values} "
            "FROM res_partner t, generate_series(1, %s) g WHERE t.id = %s "
            "ORDER BY g RETURNING id"
        ).format(targets=targets, values=values),
        (count, template_id),
    )
    ids = [row[0] for row in cr.fetchall()]
    # A partner without a parent is its own commercial partner.
    cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)",
        (ids,),
    )
    return ids


def clone_entitlements(cr, template_id, partner_ids):
    """One copy of g2p.entitlement ``template_id`` per partner (same cycle)."""
    if not partner_ids:
        return []
    targets, values = _select_list(
        table_columns(cr, "g2p_entitlement"), ENTITLEMENT_OVERRIDES, {}
    )
    cr.execute(
        sql.SQL(
            "INSERT INTO g2p_entitlement ({targets}) SELECT {values} "
            "FROM g2p_entitlement t, unnest(%s::int[]) WITH ORDINALITY AS p(id, g) "
            "WHERE t.id = %s ORDER BY g RETURNING id"
        ).format(targets=targets, values=values),
        (list(partner_ids), template_id),
    )
    return [row[0] for row in cr.fetchall()]


def analyze(cr, tables=("res_partner", "g2p_entitlement")):
    """Fresh planner statistics after a bulk insert (autovacuum lags behind)."""
    for table in tables:
        cr.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
