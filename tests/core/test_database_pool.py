"""The PostgreSQL connection pool's options (`config.postgres_engine_options`)."""

from sqlalchemy import create_engine

from deliberation.config import postgres_engine_options


def test_the_pool_hands_out_the_connection_handed_back_last(postgres_url):
    """Three connections handed back in turn: the next checkout gets the last one, whose
    statements psycopg has prepared and whose server process has the catalogue cached (a
    first-in-first-out pool would go round all of them: the oldest, here the first)."""
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1),
                           **postgres_engine_options())  # fmt: skip
    try:
        held = [engine.raw_connection() for _ in range(3)]
        backends = [connection.driver_connection.info.backend_pid for connection in held]
        for connection in held:
            connection.close()  # back to the pool, in this order
        again = engine.raw_connection()
        try:
            assert again.driver_connection.info.backend_pid == backends[-1]
        finally:
            again.close()
    finally:
        engine.dispose()
