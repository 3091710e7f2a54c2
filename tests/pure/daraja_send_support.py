"""What the Daraja sending tests share: the simulator they pay through and a
client for it.

Each test module takes the simulator through its own ``sim`` fixture
(``yield from simulator()``).
"""

from g2p_simulators.daraja import DarajaSimulator

from g2p_payment_simple_mpesa.mpesa.daraja_client import DarajaClient, TokenCache
from g2p_payment_simple_mpesa.mpesa.daraja_credential import security_credential


def simulator():
    """The Daraja simulator, its callbacks kept in its outbox."""
    server = DarajaSimulator(delivery="outbox")
    server.start()
    yield server
    server.stop()


def client_for(sim, read_timeout=0.8, pool_size=16):
    return DarajaClient(
        token_url=sim.token_url,
        payment_url=sim.payment_url,
        status_url=sim.status_url,
        consumer_key=sim.consumer_key,
        consumer_secret=sim.consumer_secret,
        shortcode=sim.shortcode,
        initiator_name=sim.initiator_name,
        security_credential=security_credential(
            sim.initiator_password, sim.certificate_pem
        ),
        result_url="http://odoo.test/cb/result",
        timeout_url="http://odoo.test/cb/timeout",
        timeout=(2.0, read_timeout),
        token_cache=TokenCache(),
        pool_size=pool_size,
    )
