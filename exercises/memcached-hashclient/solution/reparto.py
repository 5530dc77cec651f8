# reparto.py: reparte claves entre dos servidores memcached con HashClient.
from pymemcache.client.hash import HashClient

cache = HashClient(
    [("127.0.0.1", 11211), ("127.0.0.1", 11212)],
    connect_timeout=1, timeout=1, use_pooling=True,
)

for i in range(100):
    cache.set(f"reparto:{{param.prefijo}}:{i}", str(i), expire=3600)

for nombre, cliente in cache.clients.items():
    print(nombre, cliente.stats()[b"curr_items"])
