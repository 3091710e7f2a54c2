import json
import logging
from urllib.parse import urlparse

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError

from .. import const
from ..vouchers import keys as voucher_keys
from ..vouchers.errors import KeyMaterialError
from ..vouchers.payloads import Signer

_logger = logging.getLogger(__name__)

# Fields that define the key itself: changing one would silently invalidate
# every voucher already signed, so a new key set (rotation) is the only way.
_IMMUTABLE_FIELDS = ("name", "type", "size", "priv_key", "pub_cert", "jwk", "use")
_ALLOWED_STATUS_MOVES = {
    const.KEY_STATUS_ACTIVE: (const.KEY_STATUS_RETIRED, const.KEY_STATUS_REVOKED),
    const.KEY_STATUS_RETIRED: (const.KEY_STATUS_REVOKED,),
    const.KEY_STATUS_REVOKED: (),
}
_PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
# The fastapi.endpoint app serving /jwks.json (data/fastapi_endpoint.xml).
_JWKS_APP = "payment"
_JWKS_PATH = "/jwks.json"
_passphrase_warning_logged = False


def get_key_passphrase():
    """The at-rest passphrase from the Odoo config file, or None (warned once)."""
    global _passphrase_warning_logged
    passphrase = tools.config.get(const.KEY_PASSPHRASE_OPTION) or None
    if not passphrase and not _passphrase_warning_logged:
        _passphrase_warning_logged = True
        _logger.warning(
            "No '%s' option in the Odoo configuration: voucher signing keys are "
            "stored unencrypted in the database. Set it to encrypt new keys at rest.",
            const.KEY_PASSPHRASE_OPTION,
        )
    return passphrase


class G2PCryptoKeySet(models.Model):
    _name = "g2p.crypto.key.set"
    _description = "G2P Crypto Key Set"
    _order = "id desc"

    name = fields.Char(
        string="kid",
        readonly=True,
        copy=False,
        help="Key id put in every signed voucher; the RFC 7638 thumbprint of the key.",
    )
    type = fields.Selection(
        const.KEY_TYPE_SELECTION, required=True, default=const.KEY_TYPE_DEFAULT
    )
    size = fields.Selection(
        const.RSA_SIZE_SELECTION, default="2048", help="RSA key size in bits."
    )
    alg = fields.Char(string="Algorithm", compute="_compute_alg", store=True)
    priv_key = fields.Text(
        string="Private Key",
        groups="base.group_system",
        copy=False,
        exportable=False,
        help="PKCS#8 PEM; encrypted when the Odoo config sets "
        "g2p_payment_files_key_passphrase.",
    )
    priv_key_encrypted = fields.Boolean(
        string="Encrypted at Rest", readonly=True, copy=False
    )
    pub_cert = fields.Text(string="Certificate", readonly=True, copy=False)
    jwk = fields.Text(string="Public JWK", readonly=True, copy=False)
    jwk_display = fields.Text(
        string="Public JWK (formatted)", compute="_compute_jwk_display"
    )
    passphrase_configured = fields.Boolean(
        compute="_compute_passphrase_configured",
        help="Whether the Odoo configuration sets %s, so new keys are stored "
        "encrypted." % const.KEY_PASSPHRASE_OPTION,
    )
    jwks_url = fields.Char(
        string="JWKS URL",
        compute="_compute_jwks_url",
        help="Where verifiers fetch the public keys (active and retired ones).",
    )
    use = fields.Selection(const.KEY_USE_SELECTION, default="sig", required=True)
    status = fields.Selection(
        const.KEY_STATUS_SELECTION,
        default=const.KEY_STATUS_ACTIVE,
        required=True,
        readonly=True,
        copy=False,
    )
    retired_date = fields.Datetime(readonly=True, copy=False)
    revoked_date = fields.Datetime(readonly=True, copy=False)
    # Not cascade: vouchers already printed must keep verifying after their
    # manager is deleted, so its keys stay (retired, still published).
    file_payment_manager_id = fields.Many2one(
        "g2p.program.payment.manager.file", ondelete="set null", index=True
    )
    program_id = fields.Many2one(
        related="file_payment_manager_id.program_id", store=True, string="Program"
    )

    _sql_constraints = [
        ("name_unique", "unique (name)", "Name/KID of the key set should be unique"),
    ]

    def init(self):
        # One signing key per manager, enforced by the database even under
        # concurrent rotations.
        if not tools.index_exists(
            self._cr, "g2p_crypto_key_set_one_active_per_manager"
        ):
            self._cr.execute(
                "CREATE UNIQUE INDEX g2p_crypto_key_set_one_active_per_manager "
                "ON g2p_crypto_key_set (file_payment_manager_id) "
                "WHERE status = 'active' AND file_payment_manager_id IS NOT NULL"
            )

    @api.depends("jwk")
    def _compute_jwk_display(self):
        for rec in self:
            try:
                rec.jwk_display = (
                    json.dumps(json.loads(rec.jwk), indent=2, sort_keys=True)
                    if rec.jwk
                    else False
                )
            except ValueError:
                rec.jwk_display = rec.jwk

    def _compute_passphrase_configured(self):
        configured = bool(tools.config.get(const.KEY_PASSPHRASE_OPTION))
        for rec in self:
            rec.passphrase_configured = configured

    def _compute_jwks_url(self):
        url = self._jwks_url()
        for rec in self:
            rec.jwks_url = url

    @api.model
    def _jwks_url(self):
        """web.base.url + the JWKS endpoint's root path + /jwks.json, or False."""
        # sudo: officers may see where the public keys are, not edit endpoints.
        endpoint = (
            self.env["fastapi.endpoint"]
            .sudo()
            .search([("app", "=", _JWKS_APP)], order="id", limit=1)
        )
        if not endpoint:
            return False
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        root = (endpoint.root_path or "").rstrip("/")
        return "%s%s%s" % ((base_url or "").rstrip("/"), root, _JWKS_PATH)

    @api.depends("type")
    def _compute_alg(self):
        for rec in self:
            rec.alg = const.ALG_BY_KEY_TYPE.get(rec.type)

    @api.model
    def _certificate_host(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        return urlparse(base_url or "").hostname or "localhost"

    @api.model
    def _prepare_key_material(self, vals):
        """Generate (or load an imported) key and derive kid, cert and JWK."""
        key_type = vals.get("type") or const.KEY_TYPE_DEFAULT
        passphrase = get_key_passphrase()
        try:
            if vals.get("priv_key"):
                key = voucher_keys.load_private_key(vals["priv_key"], passphrase)
                imported_type = {"RS256": "rsa", "ES256": "ec", "EdDSA": "ed25519"}[
                    voucher_keys.algorithm_for_key(key)
                ]
                vals["type"] = key_type = imported_type
                if key_type == const.KEY_TYPE_RSA:
                    vals["size"] = str(key.key_size)
            else:
                size = None
                if key_type == const.KEY_TYPE_RSA:
                    size = int(vals.get("size") or "2048")
                key = voucher_keys.generate_private_key(
                    const.KTY_BY_KEY_TYPE[key_type], size
                )
            cert_pem = voucher_keys.self_signed_certificate(
                key, self._certificate_host(), days=const.CERT_VALIDITY_DAYS
            )
            jwk = voucher_keys.public_jwk(
                key,
                kid=vals.get("name") or None,
                use=vals.get("use") or "sig",
                cert_pem=cert_pem,
            )
        except KeyMaterialError as exc:
            raise UserError(
                _("The signing key could not be created: %(error)s", error=exc)
            ) from exc
        vals.update(
            name=jwk["kid"],
            priv_key=voucher_keys.private_key_to_pem(key, passphrase),
            priv_key_encrypted=bool(passphrase),
            pub_cert=cert_pem,
            jwk=json.dumps(jwk, sort_keys=True),
        )
        if key_type != const.KEY_TYPE_RSA:
            vals["size"] = False
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._prepare_key_material(dict(vals)) for vals in vals_list]
        return super().create(vals_list)

    def write(self, vals):
        frozen = [name for name in _IMMUTABLE_FIELDS if name in vals]
        if frozen:
            raise UserError(
                _(
                    "The key material of a key set (%(fields)s) cannot be changed: "
                    "use Rotate on the payment manager to get a new key.",
                    fields=", ".join(frozen),
                )
            )
        if "status" in vals:
            for rec in self:
                if vals["status"] != rec.status and vals[
                    "status"
                ] not in _ALLOWED_STATUS_MOVES.get(rec.status, ()):
                    raise UserError(
                        _(
                            "Key %(kid)s cannot go from %(old)s to %(new)s: keys move "
                            "only active -> retired -> revoked. Rotate to get a new "
                            "active key.",
                            kid=rec.name,
                            old=rec.status,
                            new=vals["status"],
                        )
                    )
        return super().write(vals)

    def copy_data(self, default=None):
        # A duplicate would be a second key for the same manager: rotate instead.
        raise UserError(
            _("Key sets cannot be duplicated: use Rotate on the payment manager.")
        )

    # Lifecycle -----------------------------------------------------------

    def _check_lifecycle_access(self):
        self.check_access_rights("write")
        self.check_access_rule("write")

    def action_retire(self):
        """Stop signing with the key; it stays published for printed vouchers."""
        self._check_lifecycle_access()
        to_retire = self.filtered(lambda k: k.status == const.KEY_STATUS_ACTIVE)
        to_retire.sudo().write(
            {"status": const.KEY_STATUS_RETIRED, "retired_date": fields.Datetime.now()}
        )
        return True

    def action_revoke(self):
        """Unpublish the key: vouchers signed with it no longer verify."""
        self._check_lifecycle_access()
        to_revoke = self.filtered(lambda k: k.status != const.KEY_STATUS_REVOKED)
        to_revoke.sudo().write(
            {"status": const.KEY_STATUS_REVOKED, "revoked_date": fields.Datetime.now()}
        )
        return True

    # Signing and publishing -----------------------------------------------

    def _get_signer(self):
        """A Signer holding the parsed private key; build it once per run."""
        self.ensure_one()
        if self.status != const.KEY_STATUS_ACTIVE:
            raise UserError(
                _(
                    "Key %(kid)s is %(status)s and no longer signs vouchers: rotate "
                    "the key of the payment manager to get an active one.",
                    kid=self.name,
                    status=self.status,
                )
            )
        sudo_self = self.sudo()
        passphrase = get_key_passphrase() if sudo_self.priv_key_encrypted else None
        try:
            return Signer.from_pem(sudo_self.priv_key, self.name, passphrase)
        except KeyMaterialError as exc:
            raise UserError(
                _(
                    "The private key of key set %(kid)s cannot be loaded (%(error)s). "
                    "Check the '%(option)s' option in the Odoo configuration.",
                    kid=self.name,
                    error=exc,
                    option=const.KEY_PASSPHRASE_OPTION,
                )
            ) from exc

    def _get_public_jwk(self):
        self.ensure_one()
        return json.loads(self.jwk) if self.jwk else None

    @api.model
    def _get_published_jwks(self):
        """JWKS of the keys verifiers may trust: active and retired ones."""
        key_sets = self.sudo().search_read(
            [
                ("status", "in", const.KEY_STATUSES_PUBLISHED),
                ("use", "=", "sig"),
                ("jwk", "!=", False),
            ],
            ["jwk"],
            order="id",
        )
        jwks = []
        for key_set in key_sets:
            jwk = json.loads(key_set["jwk"])
            # Belt and braces: a JWK stored by hand must never leak a secret.
            for member in _PRIVATE_JWK_MEMBERS:
                jwk.pop(member, None)
            jwks.append(jwk)
        return {"keys": jwks}
