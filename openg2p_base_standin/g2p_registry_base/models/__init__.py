from . import g2p_id_type, g2p_reg_id, res_partner, res_partner_bank
