# reparto.py: guarda 100 claves... de momento, en un solo servidor.
from pymemcache.client.base import Client

cache = Client(("127.0.0.1", 11211), connect_timeout=1, timeout=1)

for i in range(100):
    cache.set(f"reparto:{{param.prefijo}}:{i}", str(i), expire=3600)

print(cache.stats()[b"curr_items"])
