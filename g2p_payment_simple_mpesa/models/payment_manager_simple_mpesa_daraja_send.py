"""The cron's Daraja branch: claim, fix OCIDs, send concurrently, record.

``_mpesa_disburse`` (payment_manager_simple_mpesa_cron) runs a Daraja
manager's pass with the client, sweep and engine of this file.  It runs under the same
session-level advisory lock as simple-mpesa, keyed by Daraja URL + shortcode,
so one worker at a time sends for a shortcode (with up to *Parallel Requests*
threads); the engine ``..mpesa.daraja_send`` does the threading, this file
every database write, from the cron's thread.
"""

import logging
import uuid
import zlib

from odoo import _, models

from ..mpesa import const, daraja_send
from ..mpesa.errors import MpesaError
from .daraja_send_store import CONFLICT_TRIES, CONFLICTS, OdooDarajaStore
from .payment_manager_simple_mpesa_cron import CLAIM_SQL, _signed32

_logger = logging.getLogger(__name__)


def new_ocid(payment):
    # Unique across databases and retries of Prepare; readable in Daraja logs.
    return "G2P-%s-%s" % (payment.id, uuid.uuid4().hex)


class G2PPaymentManagerSimpleMpesaDarajaSend(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    def _mpesa_agent_key(self):
        # Daraja: one lock per shortcode (its limits and token are per app).
        self.ensure_one()
        if self.gateway_type != const.GATEWAY_DARAJA_B2C:
            return super()._mpesa_agent_key()
        identity = "daraja|%s|%s" % (
            (self.sudo().payment_endpoint_url or "").strip().lower(),
            (self.daraja_shortcode or "").strip(),
        )
        return _signed32(zlib.crc32(identity.encode("utf-8")))

    def _daraja_requeue_stale_sending(self):
        """SENDING rows while we hold the shortcode's lock: their worker died."""
        stale = self.env["g2p.payment"].search(
            [
                ("mpesa_state", "=", const.SENDING),
                ("batch_id.mpesa_manager_id", "=", self.id),
            ]
        )
        if not stale:
            return stale
        store = OdooDarajaStore(self)
        for payment in stale:
            store.requeue_stale(payment)
        self.env["g2p.payment.batch"].browse(store.batch_ids)._mpesa_refresh_figures()
        self._mpesa_post(
            _(
                "%(count)s payments were in flight from a stopped worker; they are "
                "sent again with their OriginatorConversationID (Daraja refuses a "
                "second payment): %(names)s.",
                count=len(stale),
                names=", ".join(stale.mapped("name")),
            )
        )
        # Durable before any new request.
        self._mpesa_commit()
        return stale

    def _daraja_items(self, store, limit):
        """Claim queued payments a chunk at a time; each gets its OCID first."""
        Payment = self.env["g2p.payment"]
        chunk_size = max(const.CLAIM_CHUNK, 4 * (self.daraja_concurrency or 1))
        claimed = 0
        while claimed < limit:
            self.env.flush_all()
            self.env.invalidate_all(flush=False)
            self.env.cr.execute(
                CLAIM_SQL,
                self._mpesa_claim_params(min(chunk_size, limit - claimed)),
            )
            payments = Payment.browse([row[0] for row in self.env.cr.fetchall()])
            if not payments:
                return
            resolved = []
            for payment in payments:
                try:
                    resolved.append(
                        (
                            payment,
                            self._mpesa_whole_amount(payment),
                            self._mpesa_payee_account(payment),
                            None,
                        )
                    )
                except MpesaError as exc:
                    resolved.append((payment, None, None, str(exc)))
            for payment, _amount, _account, problem in resolved:
                if problem is None and not payment.daraja_ocid:
                    payment.daraja_ocid = new_ocid(payment)
            ambiguous = {
                a.payment_id.id
                for a in payments.mpesa_attempt_ids
                if a.outcome_kind == const.AMBIGUOUS
            }
            items = [
                daraja_send.DarajaItem(
                    key=payment.id,
                    ocid=payment.daraja_ocid,
                    amount=amount,
                    msisdn=account,
                    remarks=self._daraja_remarks(payment),
                    attempts=payment.mpesa_attempt_count,
                    maybe_sent=payment.id in ambiguous,
                )
                for payment, amount, account, problem in resolved
                if problem is None
            ]
            batch_ids = {p.id: p.batch_id.id for p, *_rest in resolved}
            # COMMIT the OCIDs before the first request: a crash after sending
            # must find the same OCID next time, or Daraja could pay twice.
            self._mpesa_commit()
            for payment, _amount, _account, problem in resolved:
                claimed += 1
                if problem is not None and store.lock_if_queued(payment):
                    store.fail_locally(payment, problem)
            for item in items:
                store.batch_of[item.key] = batch_ids[item.key]
                yield item

    def _daraja_refresh_batches(self, batch_ids):
        """Refresh batch figures, again if a result callback wrote a batch too."""
        batches = self.env["g2p.payment.batch"].browse(list(batch_ids))
        for attempt in range(1, CONFLICT_TRIES + 1):
            try:
                batches._mpesa_refresh_figures()
                self._mpesa_commit()
                return
            except CONFLICTS:
                # Everything before is committed: only this refresh is redone.
                if attempt == CONFLICT_TRIES:
                    raise
                self.env.cr.rollback()

    def _daraja_remarks(self, payment):
        text = _("G2P payment %(name)s", name=payment.name or payment.id)
        return text[: const.DARAJA_REMARKS_MAX]

    def _daraja_run_send(self, client, deadline, limit):
        store = OdooDarajaStore(self)
        report = daraja_send.send(
            self._daraja_items(store, limit or self.mpesa_payments_per_run),
            client,
            store,
            concurrency=self.daraja_concurrency or const.DARAJA_DEFAULT_CONCURRENCY,
            max_attempts=self.mpesa_max_attempts or const.DEFAULT_MAX_ATTEMPTS,
            deadline=deadline,
        )
        # The last answers.  Had send() raised, they would be lost, which is
        # safe here: their payments stay SENDING and are sent again with
        # their OCID.
        store.flush()
        self._daraja_refresh_batches(store.batch_ids)
        if report.aborted:
            self._mpesa_report_problem(report.aborted)
        elif self.mpesa_last_error:
            self.mpesa_last_error = False
        if report.processed:
            self._mpesa_post(
                _(
                    "Daraja run: %(accepted)s accepted (results awaited), %(failed)s "
                    "failed, %(queued)s to retry later, %(doubt)s in doubt; "
                    "%(limited)s rate-limited answers, %(duplicates)s already "
                    "accepted.",
                    accepted=report.counts.get(const.DARAJA_ACCEPTED, 0),
                    failed=report.counts.get(const.FAILED, 0),
                    queued=report.counts.get(const.QUEUED, 0),
                    doubt=report.counts.get(const.IN_DOUBT, 0),
                    limited=report.rate_limited,
                    duplicates=report.duplicates,
                )
            )
        _logger.info("Daraja manager %s run: %s", self.id, report.as_dict())
        self._mpesa_commit()
        return report
