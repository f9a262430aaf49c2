"""hub: the civil-registry event hub for birth registration.

Hospitals publish FHIR R4 birth notifications to Kafka; the hub validates them, registers the
birth in the civil registry (akta kelahiran, the newborn's NIK, the reissued family card) and
answers on Kafka. See README.md and contracts/ for the outside view.
"""

__version__ = "0.1.0"
