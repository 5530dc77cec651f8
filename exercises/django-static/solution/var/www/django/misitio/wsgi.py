"""El punto de entrada WSGI del proyecto: mod_wsgi busca aquí `application`."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "misitio.settings")

application = get_wsgi_application()
