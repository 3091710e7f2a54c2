"""Pure logic of voucher redemption (never imports Odoo)."""
