"""A small vocabulary of data formats: media type, whether the format is open and machine-readable.

Used by the interoperability checks of the completeness score (docs/metrics.md).
Names are matched case-insensitively, as a format name (``NetCDF``), a file
extension (``.nc``) or a media type (``application/x-netcdf``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FormatInfo:
    name: str
    media_type: str
    non_proprietary: bool
    machine_readable: bool
    aliases: tuple[str, ...] = ()


VOCABULARY: tuple[FormatInfo, ...] = (
    FormatInfo("CSV", "text/csv", True, True, ("csv", "tsv")),
    FormatInfo("JSON", "application/json", True, True, ("json", "geojson", "application/geo+json")),
    FormatInfo("XML", "application/xml", True, True, ("xml", "text/xml", "kml", "gml")),
    FormatInfo("NetCDF", "application/x-netcdf", True, True, ("netcdf", "nc", "netcdf4")),
    FormatInfo("HDF5", "application/x-hdf5", True, True, ("hdf5", "hdf", "h5", "he5")),
    FormatInfo("GeoTIFF", "image/tiff", True, True, ("geotiff", "tiff", "tif")),
    FormatInfo("GRIB", "application/x-grib", True, True, ("grib", "grib2")),
    FormatInfo("FITS", "application/fits", True, True, ("fits", "fit")),
    FormatInfo("ROOT", "application/x-root", True, True, ("root",)),
    FormatInfo("FASTA", "text/x-fasta", True, True, ("fasta", "fa")),
    FormatInfo("FASTQ", "text/x-fastq", True, True, ("fastq", "fq")),
    FormatInfo("VCF", "text/x-vcf", True, True, ("vcf",)),
    FormatInfo("BAM", "application/x-bam", True, True, ("bam", "sam")),
    FormatInfo("TXT", "text/plain", True, True, ("txt", "text", "ascii", "dat")),
    FormatInfo("Parquet", "application/vnd.apache.parquet", True, True, ("parquet",)),
    FormatInfo("PDF", "application/pdf", True, False, ("pdf",)),
    FormatInfo("ZIP", "application/zip", True, False, ("zip",)),
    FormatInfo("PNG", "image/png", True, False, ("png",)),
    FormatInfo("JPEG", "image/jpeg", True, False, ("jpeg", "jpg")),
    FormatInfo("Shapefile", "application/x-shapefile", False, True, ("shapefile", "shp", "esri shapefile")),
    FormatInfo("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False, True,
               ("xlsx", "xls", "excel")),
    FormatInfo("MAT", "application/x-matlab-data", False, True, ("mat", "matlab")),
    FormatInfo("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", False, False,
               ("docx", "doc", "word")),
    FormatInfo("RAR", "application/vnd.rar", False, False, ("rar",)),
)

_BY_KEY: dict[str, FormatInfo] = {}
for _info in VOCABULARY:
    for _key in (_info.name, _info.media_type, *_info.aliases):
        _BY_KEY.setdefault(_key.lower(), _info)


def lookup(value: str) -> FormatInfo | None:
    """The vocabulary entry of a format name, extension or media type; None when unknown."""
    key = value.strip().lower().lstrip(".")
    key = key.split(";", 1)[0].strip()  # "text/csv; charset=utf-8"
    return _BY_KEY.get(key)


def is_media_type(value: str) -> bool:
    """``type/subtype`` as IANA media types are written."""
    main, sep, sub = value.strip().partition("/")
    return bool(sep) and main.isalpha() and bool(sub) and " " not in value.strip()
