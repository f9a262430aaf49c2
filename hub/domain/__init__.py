"""The pure core: rules and values of birth registration, no I/O.

Indonesian words used throughout, explained once:

- NIK (Nomor Induk Kependudukan): the 16-digit population number every resident has.
- KK (Kartu Keluarga): the family card; its 16-digit number stays when a child is born, the card
  is reissued as a new version with the child as ANAK (child).
- akta kelahiran: the birth certificate; LU (lahir umum) when registered within 60 days, LT
  (lahir terlambat) when late.
- Dukcapil / Disdukcapil: the civil registry and its regency offices; SIAK is their system.
- pelapor: the person who reports the birth; saksi: the two witnesses.
- kecamatan: district; its 6-digit Kemendagri code starts a NIK and a KK number.

Modules import only the standard library and each other.
"""
