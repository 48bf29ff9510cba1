"""Deterministic bilingual (Chinese + English) demo corpus.

The corpus imitates the dataset catalogues of a handful of Chinese national
science data centers.  Everything is generated from a seeded
:class:`random.Random`, so ``generate_records(center, seed)`` always returns
equal records for equal arguments (across processes and platforms).

Titles are built from per-discipline templates x fillers (regions, species,
experiments, ...) x periods, e.g. ``青藏高原冰川物质平衡数据集（2000-2020）`` /
``Glacier mass balance dataset of the Tibetan Plateau (2000-2020)``.  Every
record carries its center's topic words and its discipline words in both
languages as subjects, so a search for 冰川 / glacier, 基因组 / genome, 气象,
海洋 / ocean or 高能物理 hits the right center.
"""

from __future__ import annotations

import logging
import random
import string
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

logger = logging.getLogger(__name__)

__all__ = [
    "ACCESS_STATEMENTS",
    "DISCIPLINES",
    "LICENSES",
    "DemoCenter",
    "DemoRecord",
    "demo_centers",
    "deposits",
    "generate_records",
]

GRANULARITY_SECONDS = "YYYY-MM-DDThh:mm:ssZ"
GRANULARITY_DAY = "YYYY-MM-DD"


@dataclass(frozen=True)
class DemoCenter:
    """A mock national science data center (one OAI-PMH repository)."""

    id: str
    name_zh: str
    name_en: str
    doi_prefix: str
    cstr_registrant: str
    disciplines: tuple[str, ...]
    n_records: int
    page_size: int
    granularity: str = GRANULARITY_SECONDS
    metadata_formats: tuple[str, ...] = ("oai_dc", "oai_datacite")


@dataclass
class DemoRecord:
    """One dataset description as held by a demo repository.

    ``landing_url`` holds only the path (``/dataset/<local_id>``); the server
    turns it into an absolute URL with :meth:`absolute_landing_url`.
    """

    local_id: str
    identifier: str
    datestamp: datetime
    sets: list[str]
    deleted: bool
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    creators: list[str]
    publisher_zh: str
    publisher_en: str
    subjects: list[str]
    issued: date
    year: int
    doi: str
    cstr: str
    license_name: str | None
    license_url: str | None
    access_statement: str | None
    formats: list[str]
    landing_url: str
    version: str
    language: str
    #: Further rights statements: embargo ends, 密级 labels, distribution scope.
    extra_rights: tuple[str, ...] = ()

    def absolute_landing_url(self, site_url: str) -> str:
        """Landing page URL below ``site_url`` (e.g. ``http://127.0.0.1:8000``)."""
        return site_url.rstrip("/") + self.landing_url


# --------------------------------------------------------------------------
# Licenses and access statements
# --------------------------------------------------------------------------

#: license name -> (URL, SPDX identifier)
LICENSES: dict[str, tuple[str, str]] = {
    "CC BY 4.0": ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    "CC0 1.0": ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
    "CC BY-NC 4.0": ("https://creativecommons.org/licenses/by-nc/4.0/", "CC-BY-NC-4.0"),
}
_LICENSE_WEIGHTS: tuple[tuple[str | None, int], ...] = (
    ("CC BY 4.0", 40),
    ("CC0 1.0", 15),
    ("CC BY-NC 4.0", 20),
    (None, 25),
)

#: Access statements: eu-repo URIs (English) and Chinese sharing statements.
ACCESS_STATEMENTS: tuple[str, ...] = (
    "info:eu-repo/semantics/openAccess",
    "info:eu-repo/semantics/embargoedAccess",
    "info:eu-repo/semantics/restrictedAccess",
    "开放共享",
    "有条件共享",
    "离线申请",
    "注册后下载",
)
_ACCESS_WEIGHTS: tuple[tuple[str | None, int], ...] = (
    ("info:eu-repo/semantics/openAccess", 25),
    ("info:eu-repo/semantics/embargoedAccess", 6),
    ("info:eu-repo/semantics/restrictedAccess", 6),
    ("开放共享", 20),
    ("有条件共享", 10),
    ("离线申请", 8),
    ("注册后下载", 10),
    (None, 15),
)

# --------------------------------------------------------------------------
# Disciplines, templates and fillers
# --------------------------------------------------------------------------

_Pair = tuple[str, str]


@dataclass(frozen=True)
class _Template:
    zh: str
    en: str
    keywords: tuple[_Pair, ...]
    formats: tuple[str, ...]
    since: int | None = None  # earliest plausible first year of the period
    until: int | None = None  # latest plausible last year of the period


@dataclass(frozen=True)
class _Discipline:
    key: str
    label_zh: str
    label_en: str
    fillers: dict[str, tuple[_Pair, ...]] = field(hash=False)
    templates: tuple[_Template, ...]


def _t(
    zh: str,
    en: str,
    keywords: tuple[_Pair, ...],
    *formats: str,
    since: int | None = None,
    until: int | None = None,
) -> _Template:
    return _Template(zh, en, keywords, formats, since, until)


_TIBET: _Pair = ("青藏高原", "the Tibetan Plateau")
_QILIAN: _Pair = ("祁连山", "the Qilian Mountains")
_TIANSHAN: _Pair = ("天山", "the Tianshan Mountains")

_MOUNTAINS: tuple[_Pair, ...] = (
    _TIBET,
    _QILIAN,
    _TIANSHAN,
    ("喜马拉雅山", "the Himalayas"),
    ("帕米尔高原", "the Pamir Plateau"),
    ("阿尔泰山", "the Altai Mountains"),
    ("横断山", "the Hengduan Mountains"),
    ("念青唐古拉山", "the Nyainqentanglha Mountains"),
    ("昆仑山", "the Kunlun Mountains"),
)
_PERMAFROST_REGIONS: tuple[_Pair, ...] = (
    _TIBET,
    ("青藏公路沿线", "the Qinghai-Tibet Highway corridor"),
    ("大兴安岭", "the Greater Khingan Mountains"),
    _QILIAN,
    _TIANSHAN,
    ("黄河源区", "the source region of the Yellow River"),
    ("长江源区", "the source region of the Yangtze River"),
)
_DESERTS: tuple[_Pair, ...] = (
    ("塔克拉玛干沙漠", "the Taklimakan Desert"),
    ("巴丹吉林沙漠", "the Badain Jaran Desert"),
    ("腾格里沙漠", "the Tengger Desert"),
    ("古尔班通古特沙漠", "the Gurbantunggut Desert"),
    ("毛乌素沙地", "the Mu Us Sandy Land"),
    ("库布齐沙漠", "the Kubuqi Desert"),
    ("科尔沁沙地", "the Horqin Sandy Land"),
)
_SNOW_REGIONS: tuple[_Pair, ...] = (
    _TIBET,
    ("新疆北部", "northern Xinjiang"),
    ("东北地区", "Northeast China"),
    ("中国", "China"),
    _QILIAN,
    ("内蒙古", "Inner Mongolia"),
)
_SPECIES: tuple[_Pair, ...] = (
    ("水稻", "rice"),
    ("小麦", "wheat"),
    ("玉米", "maize"),
    ("大豆", "soybean"),
    ("家蚕", "silkworm"),
    ("猪", "pig"),
    ("中国人群", "the Chinese population"),
    ("大熊猫", "giant panda"),
    ("拟南芥", "Arabidopsis thaliana"),
    ("斑马鱼", "zebrafish"),
    ("茶树", "tea plant"),
    ("牦牛", "yak"),
)
_CONDITIONS: tuple[_Pair, ...] = (
    ("干旱胁迫下", "under drought stress"),
    ("高温胁迫下", "under heat stress"),
    ("不同发育时期", "across developmental stages"),
    ("病原侵染后", "after pathogen infection"),
    ("低氧环境下", "under hypoxia"),
)
_ENVIRONMENTS: tuple[_Pair, ...] = (
    ("青藏高原土壤", "Tibetan Plateau soils"),
    ("南海沉积物", "South China Sea sediments"),
    ("人体肠道", "the human gut"),
    ("稻田土壤", "paddy soils"),
    ("城市污水", "urban wastewater"),
    ("温泉", "hot springs"),
    ("红树林湿地", "mangrove wetlands"),
)
_MET_REGIONS: tuple[_Pair, ...] = (
    ("中国", "China"),
    ("华北地区", "North China"),
    ("长江中下游", "the middle and lower Yangtze River"),
    ("东北地区", "Northeast China"),
    ("西北地区", "Northwest China"),
    ("华南地区", "South China"),
    _TIBET,
    ("京津冀", "the Beijing-Tianjin-Hebei region"),
)
_SEAS: tuple[_Pair, ...] = (
    ("南海", "the South China Sea"),
    ("东海", "the East China Sea"),
    ("黄海", "the Yellow Sea"),
    ("渤海", "the Bohai Sea"),
    ("西北太平洋", "the Northwest Pacific"),
    ("印度洋", "the Indian Ocean"),
    ("北冰洋", "the Arctic Ocean"),
    ("南大洋", "the Southern Ocean"),
)
_BES_SAMPLES: tuple[_Pair, ...] = (
    ("J/ψ", "J/psi"),
    ("ψ(2S)", "psi(2S)"),
    ("ψ(3770)", "psi(3770)"),
    ("XYZ能区", "XYZ energy region"),
    ("τ质量阈", "tau mass threshold"),
    ("R值扫描", "R-value scan"),
)
_LHAASO: tuple[_Pair, ...] = (("KM2A", "KM2A"), ("WCDA", "WCDA"), ("WFCTA", "WFCTA"))
_DAYA_BAY: tuple[_Pair, ...] = (
    ("近点实验厅", "near hall"),
    ("远点实验厅", "far hall"),
    ("刻度", "calibration"),
)
_BEAMLINES: tuple[_Pair, ...] = (("1W1B", "1W1B"), ("4W1A", "4W1A"), ("3W1A", "3W1A"), ("4B9A", "4B9A"))

_DISCIPLINE_LIST: tuple[_Discipline, ...] = (
    # ---- National Cryosphere Desert Data Center --------------------------
    _Discipline(
        "glacier", "冰川", "Glacier", {"r": _MOUNTAINS},
        (
            _t("{r}冰川物质平衡数据集{p}", "Glacier mass balance dataset of {r}{p}",
               (("物质平衡", "mass balance"),), "CSV", "NetCDF"),
            _t("{r}冰川编目数据{p}", "Glacier inventory of {r}{p}",
               (("冰川编目", "glacier inventory"),), "Shapefile"),
            _t("{r}冰川表面高程变化数据{p}", "Glacier surface elevation change in {r}{p}",
               (("高程变化", "elevation change"), ("遥感", "remote sensing")), "GeoTIFF"),
            _t("{r}冰川表面运动速度数据{p}", "Glacier surface velocity of {r}{p}",
               (("冰川运动", "ice velocity"),), "GeoTIFF", "NetCDF", since=1990),
            _t("{r}冰湖分布数据集{p}", "Glacial lake inventory of {r}{p}",
               (("冰湖", "glacial lake"),), "Shapefile", "CSV"),
        ),
    ),
    _Discipline(
        "permafrost", "冻土", "Permafrost", {"r": _PERMAFROST_REGIONS},
        (
            _t("{r}多年冻土分布图{p}", "Permafrost distribution map of {r}{p}",
               (("多年冻土", "permafrost distribution"),), "GeoTIFF"),
            _t("{r}冻土活动层厚度观测数据{p}", "Active layer thickness observations of permafrost in {r}{p}",
               (("活动层", "active layer"),), "CSV"),
            _t("{r}冻土地温监测数据{p}", "Permafrost ground temperature monitoring data of {r}{p}",
               (("地温", "ground temperature"),), "CSV", "XLSX"),
            _t("{r}冻土区土壤水热数据集{p}", "Soil moisture and temperature in the permafrost zone of {r}{p}",
               (("土壤水热", "soil hydrothermal regime"),), "NetCDF"),
        ),
    ),
    _Discipline(
        "desert", "沙漠", "Desert", {"r": _DESERTS},
        (
            _t("{r}沙丘移动监测数据{p}", "Sand dune migration monitoring data of {r}{p}",
               (("沙丘", "sand dune"),), "GeoTIFF", "CSV"),
            _t("{r}风沙通量观测数据{p}", "Aeolian sand flux observations in {r}{p}",
               (("风沙", "aeolian sand"),), "CSV"),
            _t("{r}沙漠化土地遥感监测数据集{p}", "Remote sensing monitoring of desertified land in {r}{p}",
               (("沙漠化", "desertification"), ("遥感", "remote sensing")), "GeoTIFF"),
            _t("{r}沙尘暴事件数据集{p}", "Dust storm event dataset of {r}{p}",
               (("沙尘暴", "dust storm"),), "CSV"),
        ),
    ),
    _Discipline(
        "snow", "积雪", "Snow cover", {"r": _SNOW_REGIONS},
        (
            _t("{r}逐日积雪深度数据集{p}", "Daily snow depth dataset of {r}{p}",
               (("积雪深度", "snow depth"),), "NetCDF", since=1979),
            _t("{r}MODIS积雪覆盖度产品{p}", "MODIS fractional snow cover product of {r}{p}",
               (("积雪覆盖", "snow cover"), ("MODIS", "MODIS")), "HDF5", "GeoTIFF", since=2000),
            _t("{r}雪水当量数据集{p}", "Snow water equivalent dataset of {r}{p}",
               (("雪水当量", "snow water equivalent"),), "NetCDF"),
        ),
    ),
    # ---- National Genomics Data Center ------------------------------------
    _Discipline(
        "genome", "基因组", "Genome", {"s": _SPECIES},
        (
            _t("{s}全基因组重测序数据", "Whole-genome resequencing data of {s}",
               (("重测序", "resequencing"),), "FASTQ", "BAM"),
            _t("{s}染色体水平基因组组装", "Chromosome-level genome assembly of {s}",
               (("基因组组装", "genome assembly"),), "FASTA", "GFF3"),
            _t("{s}基因组注释数据集", "Genome annotation dataset of {s}",
               (("基因注释", "gene annotation"),), "GFF3"),
            _t("{s}泛基因组数据", "Pan-genome data of {s}",
               (("泛基因组", "pan-genome"),), "FASTA", "VCF"),
        ),
    ),
    _Discipline(
        "transcriptome", "转录组", "Transcriptome", {"s": _SPECIES, "c": _CONDITIONS},
        (
            _t("{s}{c}转录组测序数据", "Transcriptome sequencing data of {s} {c}",
               (("RNA-seq", "RNA-seq"),), "FASTQ"),
            _t("{s}单细胞转录组图谱", "Single-cell transcriptome atlas of {s}",
               (("单细胞", "single-cell"),), "HDF5", "MTX"),
            _t("{s}全长转录本测序数据", "Full-length transcript (Iso-Seq) sequencing data of {s}",
               (("全长转录组", "Iso-Seq"),), "FASTQ", "BAM"),
        ),
    ),
    _Discipline(
        "variation", "遗传变异", "Genetic variation", {"s": _SPECIES},
        (
            _t("{s}基因组变异数据库", "Genomic variation database of {s}",
               (("单核苷酸多态性", "SNP"),), "VCF"),
            _t("{s}群体遗传变异图谱", "Population genetic variation map of {s}",
               (("群体遗传", "population genetics"),), "VCF"),
            _t("{s}结构变异数据集", "Structural variant dataset of {s}",
               (("结构变异", "structural variation"),), "VCF", "BED"),
            _t("{s}全基因组关联分析（GWAS）数据", "Genome-wide association study (GWAS) data of {s}",
               (("关联分析", "GWAS"),), "CSV", "VCF"),
        ),
    ),
    _Discipline(
        "metagenome", "宏基因组", "Metagenome", {"e": _ENVIRONMENTS},
        (
            _t("{e}宏基因组测序数据", "Metagenomic sequencing data of {e}",
               (("宏基因组", "metagenomics"),), "FASTQ"),
            _t("{e}微生物16S rRNA扩增子数据", "16S rRNA amplicon data of microbiota in {e}",
               (("微生物多样性", "microbial diversity"),), "FASTQ"),
            _t("{e}宏基因组组装基因组（MAGs）", "Metagenome-assembled genomes (MAGs) from {e}",
               (("宏基因组组装", "MAG"),), "FASTA"),
        ),
    ),
    # ---- National Meteorological Science Data Center ---------------------
    _Discipline(
        "surface", "地面观测", "Surface observation", {"r": _MET_REGIONS},
        (
            _t("{r}地面气象站逐日观测数据{p}", "Daily observations of surface weather stations in {r}{p}",
               (("气温", "air temperature"), ("降水", "precipitation")), "CSV", "TXT"),
            _t("{r}逐小时降水量数据集{p}", "Hourly precipitation dataset of {r}{p}",
               (("降水", "precipitation"),), "CSV"),
            _t("{r}国家级自动站逐时气温数据{p}",
               "Hourly air temperature from national automatic weather stations in {r}{p}",
               (("气温", "air temperature"), ("自动站", "automatic weather station")), "CSV", since=2004),
            _t("{r}地面辐射观测数据{p}", "Surface radiation observations in {r}{p}",
               (("辐射", "radiation"),), "CSV"),
        ),
    ),
    _Discipline(
        "upper_air", "高空探测", "Upper-air sounding", {"r": _MET_REGIONS},
        (
            _t("{r}探空站逐日高空气象观测数据{p}", "Daily radiosonde upper-air observations in {r}{p}",
               (("探空", "radiosonde"),), "TXT", "CSV"),
            _t("{r}L波段秒级探空数据{p}", "L-band second-level radiosonde data of {r}{p}",
               (("探空", "radiosonde"), ("L波段", "L-band")), "TXT", since=2002),
            _t("{r}风廓线雷达观测数据{p}", "Wind profiler radar observations in {r}{p}",
               (("风廓线", "wind profile"),), "NetCDF", since=2008),
        ),
    ),
    _Discipline(
        "radar", "天气雷达", "Weather radar", {"r": _MET_REGIONS},
        (
            _t("{r}多普勒天气雷达基数据{p}", "Doppler weather radar base data of {r}{p}",
               (("多普勒雷达", "Doppler radar"),), "HDF5", "NetCDF", since=1999),
            _t("{r}雷达组合反射率拼图产品{p}", "Composite radar reflectivity mosaic of {r}{p}",
               (("反射率", "reflectivity"),), "PNG", "HDF5", since=2005),
            _t("{r}定量降水估测（QPE）产品{p}", "Quantitative precipitation estimation (QPE) product for {r}{p}",
               (("定量降水估测", "QPE"), ("降水", "precipitation")), "NetCDF", since=2010),
        ),
    ),
    _Discipline(
        "climate", "气候", "Climate", {"r": _MET_REGIONS},
        (
            _t("{r}逐月气候平均数据集{p}", "Monthly climate normals of {r}{p}",
               (("气候平均", "climate normals"),), "CSV"),
            _t("{r}0.5°×0.5°格点气温降水数据集{p}",
               "0.5°×0.5° gridded temperature and precipitation dataset of {r}{p}",
               (("格点数据", "gridded data"), ("降水", "precipitation")), "NetCDF"),
            _t("{r}极端天气气候事件数据集{p}", "Extreme weather and climate events dataset of {r}{p}",
               (("极端事件", "extreme events"),), "CSV"),
            _t("{r}CMA再分析资料（CRA-40）子集{p}", "CMA reanalysis (CRA-40) subset for {r}{p}",
               (("再分析", "reanalysis"),), "GRIB2", "NetCDF", since=1979),
        ),
    ),
    # ---- National Marine Science Data Center ------------------------------
    _Discipline(
        "hydrology", "海洋水文", "Physical oceanography", {"r": _SEAS},
        (
            _t("{r}温盐深（CTD）观测数据{p}", "CTD observations in {r}{p}",
               (("温盐深", "CTD"), ("盐度", "salinity"), ("海水温度", "sea water temperature")), "NetCDF", "CSV"),
            _t("{r}Argo浮标剖面数据{p}", "Argo float profiles in {r}{p}",
               (("Argo浮标", "Argo float"),), "NetCDF", since=2002),
            _t("{r}ADCP海流观测数据{p}", "ADCP ocean current observations in {r}{p}",
               (("海流", "ocean current"),), "NetCDF", since=1990),
            _t("{r}海表温度融合产品{p}", "Blended sea surface temperature product of {r}{p}",
               (("海表温度", "sea surface temperature"),), "NetCDF", since=1981),
        ),
    ),
    _Discipline(
        "biology", "海洋生物", "Marine biology", {"r": _SEAS},
        (
            _t("{r}浮游植物叶绿素a调查数据{p}", "Phytoplankton chlorophyll-a survey data of {r}{p}",
               (("叶绿素", "chlorophyll"), ("浮游植物", "phytoplankton")), "CSV"),
            _t("{r}浮游动物群落调查数据{p}", "Zooplankton community survey of {r}{p}",
               (("浮游动物", "zooplankton"),), "XLSX"),
            _t("{r}渔业资源声学调查数据{p}", "Acoustic fishery resources survey of {r}{p}",
               (("渔业资源", "fishery resources"),), "CSV"),
        ),
    ),
    _Discipline(
        "chemistry", "海洋化学", "Marine chemistry", {"r": _SEAS},
        (
            _t("{r}海水营养盐观测数据{p}", "Seawater nutrient observations in {r}{p}",
               (("营养盐", "nutrients"),), "CSV"),
            _t("{r}溶解氧与pH观测数据{p}", "Dissolved oxygen and pH observations in {r}{p}",
               (("溶解氧", "dissolved oxygen"), ("海洋酸化", "ocean acidification")), "CSV", "NetCDF"),
            _t("{r}海洋碳通量数据集{p}", "Ocean carbon flux dataset of {r}{p}",
               (("碳通量", "carbon flux"),), "NetCDF"),
        ),
    ),
    _Discipline(
        "geology", "海洋地质", "Marine geology", {"r": _SEAS},
        (
            _t("{r}多波束水深测量数据{p}", "Multibeam bathymetry of {r}{p}",
               (("水深", "bathymetry"),), "GeoTIFF", "XYZ", since=1995),
            _t("{r}表层沉积物粒度数据{p}", "Surface sediment grain-size data of {r}{p}",
               (("沉积物", "sediment"),), "CSV"),
            _t("{r}海底地震反射剖面数据{p}", "Seismic reflection profiles of {r}{p}",
               (("地震剖面", "seismic profile"),), "SEG-Y"),
        ),
    ),
    # ---- National High Energy Physics Science Data Center ----------------
    _Discipline(
        "collider", "对撞机实验", "Collider experiment", {"x": _BES_SAMPLES},
        (
            _t("北京谱仪BESIII {x} 事例样本{p}", "BESIII {x} event sample{p}",
               (("北京谱仪", "BESIII"), ("粒子物理", "particle physics")), "ROOT", since=2009),
            _t("BESIII {x} 蒙特卡罗模拟数据{p}", "BESIII {x} Monte Carlo simulation data{p}",
               (("蒙特卡罗模拟", "Monte Carlo simulation"), ("北京谱仪", "BESIII")), "ROOT", since=2009),
            _t("北京正负电子对撞机BEPCII束流运行参数{p}", "BEPCII beam operation parameters{p}",
               (("加速器", "accelerator"),), "CSV", "HDF5", since=2008),
        ),
    ),
    _Discipline(
        "cosmic_ray", "宇宙线", "Cosmic rays", {"x": _LHAASO},
        (
            _t("高海拔宇宙线观测站（LHAASO）{x}观测数据{p}", "LHAASO {x} observation data{p}",
               (("宇宙线", "cosmic ray"), ("LHAASO", "LHAASO")), "ROOT", "FITS", since=2019),
            _t("羊八井ARGO-YBJ宇宙线事例数据{p}", "ARGO-YBJ cosmic-ray event data from Yangbajing{p}",
               (("宇宙线", "cosmic ray"),), "ROOT", since=2007, until=2013),
            _t("LHAASO {x} 伽马射线源星表{p}", "LHAASO {x} gamma-ray source catalog{p}",
               (("伽马射线", "gamma ray"),), "FITS", since=2019),
        ),
    ),
    _Discipline(
        "neutrino", "中微子", "Neutrino physics", {"x": _DAYA_BAY},
        (
            _t("大亚湾反应堆中微子实验{x}数据{p}", "Daya Bay reactor neutrino experiment {x} data{p}",
               (("中微子振荡", "neutrino oscillation"),), "ROOT", since=2011, until=2020),
            _t("江门中微子实验（JUNO）探测器模拟数据{p}", "JUNO detector simulation data{p}",
               (("JUNO", "JUNO"),), "ROOT", since=2015),
            _t("锦屏地下实验室本底测量数据{p}", "Background measurements at China Jinping Underground Laboratory{p}",
               (("暗物质", "dark matter"),), "CSV", since=2010),
        ),
    ),
    _Discipline(
        "synchrotron", "同步辐射", "Synchrotron radiation", {"x": _BEAMLINES},
        (
            _t("北京同步辐射装置{x}光束线X射线吸收谱数据{p}", "X-ray absorption spectra from BSRF beamline {x}{p}",
               (("X射线吸收谱", "XAFS"),), "HDF5", since=2009),
            _t("北京同步辐射装置{x}光束线小角散射数据{p}",
               "Small-angle X-ray scattering data from BSRF beamline {x}{p}",
               (("小角散射", "SAXS"),), "HDF5", "TIFF", since=2009),
        ),
    ),
)

#: discipline key -> (Chinese label, English label); used for OAI set names.
DISCIPLINES: dict[str, tuple[str, str]] = {
    d.key: (d.label_zh, d.label_en) for d in _DISCIPLINE_LIST
}
_DISCIPLINE_BY_KEY: dict[str, _Discipline] = {d.key: d for d in _DISCIPLINE_LIST}


@dataclass(frozen=True)
class _CenterProfile:
    topics: tuple[_Pair, ...]
    use: _Pair
    period_start: int
    english_share: float


_PROFILES: dict[str, _CenterProfile] = {
    "ncdc": _CenterProfile(
        (("冰冻圈", "cryosphere"),),
        ("可用于冰冻圈变化、水资源评估及气候变化研究。",
         "It supports research on cryosphere change, water resources and climate change."),
        1960, 0.15,
    ),
    "ngdc": _CenterProfile(
        (("基因组", "genome"), ("组学", "omics")),
        ("可用于功能基因组学、分子育种及进化研究。",
         "It supports functional genomics, molecular breeding and evolutionary studies."),
        2010, 0.5,
    ),
    "meteo": _CenterProfile(
        (("气象", "meteorology"),),
        ("可用于天气预报检验、气候变化及防灾减灾研究。",
         "It supports forecast verification, climate change and disaster risk research."),
        1951, 0.15,
    ),
    "marine": _CenterProfile(
        (("海洋", "ocean"), ("海洋科学", "marine science")),
        ("可用于海洋环境评估、海洋生态及海气相互作用研究。",
         "It supports ocean environment assessment, marine ecology and air-sea interaction research."),
        1958, 0.2,
    ),
    "hep": _CenterProfile(
        (("高能物理", "high energy physics"),),
        ("可用于粒子物理、天体物理及探测器性能研究。",
         "It supports particle physics, astrophysics and detector performance studies."),
        2009, 0.4,
    ),
}
_DEFAULT_PROFILE = _CenterProfile(
    (("科学数据", "scientific data"),),
    ("可用于相关领域科学研究。", "It supports scientific research in related fields."),
    1980, 0.2,
)

_QUALITY: tuple[_Pair, ...] = (
    ("数据经过质量控制与均一化处理。", "Data were quality-controlled & homogenised."),
    ("缺测值以-9999表示。", "Missing values are flagged as -9999."),
    ("相对误差<5%。", "The relative error is <5%."),
    ("原始数据经人工校验。", "Raw data were manually verified."),
    ("数据已按FAIR原则整理。", "The data are curated following the FAIR principles."),
    ("数据包含元数据说明文档与数据使用声明。", "A metadata document and a data use statement are included."),
)

# --------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------

_SURNAMES: tuple[_Pair, ...] = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
    ("杨", "Yang"), ("赵", "Zhao"), ("黄", "Huang"), ("周", "Zhou"), ("吴", "Wu"),
    ("徐", "Xu"), ("孙", "Sun"), ("胡", "Hu"), ("朱", "Zhu"), ("高", "Gao"),
    ("林", "Lin"), ("何", "He"), ("郭", "Guo"), ("马", "Ma"), ("罗", "Luo"),
    ("欧阳", "Ouyang"), ("司马", "Sima"),
)
_GIVEN_NAMES: tuple[_Pair, ...] = (
    ("磊", "Lei"), ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"),
    ("静", "Jing"), ("丽", "Li"), ("强", "Qiang"), ("军", "Jun"), ("洋", "Yang"),
    ("勇", "Yong"), ("艳", "Yan"), ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"),
    ("超", "Chao"), ("秀英", "Xiuying"), ("建华", "Jianhua"), ("志强", "Zhiqiang"),
    ("晓东", "Xiaodong"), ("海燕", "Haiyan"), ("文博", "Wenbo"), ("思远", "Siyuan"),
    ("子涵", "Zihan"), ("雨桐", "Yutong"), ("国庆", "Guoqing"), ("嘉怡", "Jiayi"),
    ("浩然", "Haoran"),
)

_EPOCH_START = datetime(2019, 1, 1, tzinfo=UTC)
_EPOCH_END = datetime(2025, 6, 30, 23, 59, 59, tzinfo=UTC)


def demo_centers() -> list[DemoCenter]:
    """The demo federation: five centers modelled on real national data centers.

    600 records in total; every center has at least three pages at its page
    size.  ``meteo`` uses day granularity and offers only ``oai_dc``.
    """
    return [
        DemoCenter(
            id="ncdc",
            name_zh="国家冰川冻土沙漠科学数据中心",
            name_en="National Cryosphere Desert Data Center",
            doi_prefix="10.12072",
            cstr_registrant="31253",
            disciplines=("glacier", "permafrost", "desert", "snow"),
            n_records=150,
            page_size=50,
        ),
        DemoCenter(
            id="ngdc",
            name_zh="国家基因组科学数据中心",
            name_en="National Genomics Data Center",
            doi_prefix="10.12192",
            cstr_registrant="31320",
            disciplines=("genome", "transcriptome", "variation", "metagenome"),
            n_records=130,
            page_size=40,
        ),
        DemoCenter(
            id="meteo",
            name_zh="国家气象科学数据中心",
            name_en="National Meteorological Science Data Center",
            doi_prefix="10.12205",
            cstr_registrant="31331",
            disciplines=("surface", "upper_air", "radar", "climate"),
            n_records=120,
            page_size=30,
            granularity=GRANULARITY_DAY,
            metadata_formats=("oai_dc",),
        ),
        DemoCenter(
            id="marine",
            name_zh="国家海洋科学数据中心",
            name_en="National Marine Science Data Center",
            doi_prefix="10.11978",
            cstr_registrant="31340",
            disciplines=("hydrology", "biology", "chemistry", "geology"),
            n_records=110,
            page_size=35,
        ),
        DemoCenter(
            id="hep",
            name_zh="国家高能物理科学数据中心",
            name_en="National High Energy Physics Science Data Center",
            doi_prefix="10.12402",
            cstr_registrant="31360",
            disciplines=("collider", "cosmic_ray", "neutrino", "synchrotron"),
            n_records=90,
            page_size=25,
        ),
    ]


def _weighted(rng: random.Random, options: tuple[tuple[str | None, int], ...]) -> str | None:
    values = [v for v, _ in options]
    weights = [w for _, w in options]
    return rng.choices(values, weights=weights, k=1)[0]


def _person(rng: random.Random, romanised: bool) -> str:
    surname = rng.choice(_SURNAMES)
    given = rng.choice(_GIVEN_NAMES)
    if not romanised:
        return surname[0] + given[0]
    if rng.random() < 0.5:
        return f"{surname[1]}, {given[1]}"
    return f"{given[1]} {surname[1]}"


def _period(
    rng: random.Random, start_min: int, issued_year: int, end_max: int | None = None
) -> tuple[str, str, int, int]:
    cap = max(start_min + 1, issued_year - 1)
    if end_max is not None:
        cap = max(start_min + 1, min(cap, end_max))
    if rng.random() < 0.2:
        year = rng.randint(start_min, cap)
        return f"（{year}年）", f" ({year})", year, year
    start = rng.randint(start_min, cap - 1)
    end = rng.randint(start + 1, min(cap, start + 40))
    return f"（{start}-{end}）", f" ({start}-{end})", start, end


def _field_names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _discipline(key: str) -> _Discipline:
    try:
        return _DISCIPLINE_BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown discipline {key!r}; known: {sorted(_DISCIPLINE_BY_KEY)}") from None


def _extra_rights(center_id: str, local_id: str, access: str | None, issued: date) -> tuple[str, ...]:
    """Statements beyond the access statement, chosen by a hash so the random stream is untouched.

    Embargoed records get an end date three years after issue (some ended, some not); a few
    records carry a 密级 label (hep: 重要, marine: 核心, which the gate keeps out of the
    catalog) or a distribution scope.
    """
    h = zlib.crc32(f"{center_id}:{local_id}".encode())
    out: list[str] = []
    if access == "info:eu-repo/semantics/embargoedAccess":
        end = date(issued.year + 3, issued.month, min(issued.day, 28))
        out.append(f"info:eu-repo/date/embargoEnd/{end.isoformat()}")
    if center_id == "hep" and h % 15 == 0:
        out.append("密级：重要")
    if center_id == "marine" and h % 40 == 1:
        out.append("密级：核心")
    if center_id == "meteo" and h % 9 == 0:
        out.append("仅限国内使用")
    if center_id in ("marine", "ncdc") and h % 6 == 0:
        out.append("国内国外均可分发")
    return tuple(out)


def generate_records(center: DemoCenter, seed: int = 0) -> list[DemoRecord]:
    """Generate ``center.n_records`` records, sorted by (datestamp, identifier).

    Deterministic: equal ``(center, seed)`` give equal records.  About 3 % of
    the records (at least one) are marked deleted.
    """
    rng = random.Random(f"fedcat-demo:{seed}:{center.id}")
    profile = _PROFILES.get(center.id, _DEFAULT_PROFILE)
    disciplines = [_discipline(k) for k in center.disciplines]
    if not disciplines:
        raise ValueError(f"center {center.id!r} has no disciplines")

    assignment = [disciplines[i % len(disciplines)] for i in range(center.n_records)]
    rng.shuffle(assignment)
    n_deleted = max(1, round(center.n_records * 0.03)) if center.n_records else 0
    deleted_idx = set(rng.sample(range(center.n_records), n_deleted))

    counters: dict[str, int] = {}
    used_titles: set[str] = set()
    span = int((_EPOCH_END - _EPOCH_START).total_seconds())
    records: list[DemoRecord] = []

    for i, disc in enumerate(assignment):
        counters[disc.key] = counters.get(disc.key, 0) + 1
        seq = counters[disc.key]
        local_id = f"{disc.key}.{seq:04d}"

        datestamp = _EPOCH_START + timedelta(seconds=rng.randint(0, span))
        issued = datestamp.date() - timedelta(days=rng.randint(0, 90))
        if issued < _EPOCH_START.date():
            issued = datestamp.date()
        year = issued.year

        # Title: template x fillers x period, re-rolled until unique.
        title_zh = title_en = ""
        template = disc.templates[0]
        chosen: dict[str, _Pair] = {}
        period: tuple[str, str, int, int] | None = None
        for _attempt in range(40):
            template = rng.choice(disc.templates)
            names = _field_names(template.zh) | _field_names(template.en)
            chosen = {n: rng.choice(disc.fillers[n]) for n in sorted(names) if n != "p"}
            period = None
            if "p" in names:
                start_min = max(profile.period_start, template.since or 0)
                period = _period(rng, start_min, year, template.until)
            zh_args = {n: v[0] for n, v in chosen.items()}
            en_args = {n: v[1] for n, v in chosen.items()}
            if period is not None:
                zh_args["p"], en_args["p"] = period[0], period[1]
            title_zh = template.zh.format(**zh_args)
            title_en = template.en.format(**en_args)
            if title_zh not in used_titles:
                break
        if title_zh in used_titles:
            title_zh += f"（第{seq}批）"
            title_en += f" (batch {seq})"
        used_titles.add(title_zh)
        title_en = title_en[0].upper() + title_en[1:]

        sets = [disc.key]
        if len(disciplines) > 1 and rng.random() < 0.1:
            other = rng.choice([d for d in disciplines if d is not disc])
            sets.append(other.key)

        subjects: list[str] = []
        pairs: list[_Pair] = list(profile.topics)
        pairs.append((disc.label_zh, disc.label_en.lower()))
        pairs.extend(template.keywords)
        for extra in sets[1:]:
            pairs.append((_DISCIPLINE_BY_KEY[extra].label_zh, _DISCIPLINE_BY_KEY[extra].label_en.lower()))
        for zh, en in pairs:
            for word in (zh, en):
                if word not in subjects:
                    subjects.append(word)

        language = "en" if rng.random() < profile.english_share else "zh"
        n_creators = rng.randint(1, 6)
        romanised_share = 0.6 if language == "en" else 0.2
        creators: list[str] = []
        while len(creators) < n_creators:
            person = _person(rng, rng.random() < romanised_share)
            if person not in creators:
                creators.append(person)

        license_name = _weighted(rng, _LICENSE_WEIGHTS)
        license_url = LICENSES[license_name][0] if license_name else None
        access = _weighted(rng, _ACCESS_WEIGHTS)
        formats = list(template.formats)
        if rng.random() < 0.2:
            formats.append("PDF")

        quality = rng.choice(_QUALITY)
        kw_zh = "、".join(k[0] for k in template.keywords)
        kw_en = ", ".join(k[1] for k in template.keywords)
        fmt_text = "/".join(formats)
        scope_zh = scope_en = ""
        if period is not None:
            if period[2] == period[3]:
                scope_zh = f"时间范围为{period[2]}年，"
                scope_en = f"It covers the year {period[2]}. "
            else:
                scope_zh = f"时间范围为{period[2]}—{period[3]}年，"
                scope_en = f"It covers {period[2]} to {period[3]}. "
        if "r" in chosen:
            scope_zh += f"空间范围为{chosen['r'][0]}，"
            scope_en += f"The spatial coverage is {chosen['r'][1]}. "
        description_zh = (
            f"{title_zh}。本数据集由{center.name_zh}整编发布，{scope_zh}"
            f"主要内容包括{disc.label_zh}、{kw_zh}等。{quality[0]}数据以{fmt_text}格式提供。{profile.use[0]}"
        )
        description_en = (
            f"{title_en}. Compiled and published by the {center.name_en}. {scope_en}"
            f"Topics: {disc.label_en.lower()}, {kw_en}. {quality[1]} Files are provided as {fmt_text}. "
            f"{profile.use[1]}"
        )

        records.append(
            DemoRecord(
                local_id=local_id,
                identifier=f"oai:{center.id}:{local_id}",
                datestamp=datestamp,
                sets=sets,
                deleted=i in deleted_idx,
                title_zh=title_zh,
                title_en=title_en,
                description_zh=description_zh,
                description_en=description_en,
                creators=creators,
                publisher_zh=center.name_zh,
                publisher_en=center.name_en,
                subjects=subjects,
                issued=issued,
                year=year,
                doi=f"{center.doi_prefix}/{center.id}.{disc.key}.db{seq:04d}.{year}",
                cstr=f"CSTR:{center.cstr_registrant}.11.{center.id}.{disc.key}.{seq:04d}",
                license_name=license_name,
                license_url=license_url,
                access_statement=access,
                formats=formats,
                landing_url=f"/dataset/{local_id}",
                version="V2" if rng.random() < 0.25 else "V1",
                language=language,
                extra_rights=_extra_rights(center.id, local_id, access, issued),
            )
        )

    records.sort(key=lambda r: (r.datestamp, r.identifier))
    logger.debug("generated %d records for %s (seed=%d)", len(records), center.id, seed)
    return records


def deposits(center: DemoCenter, records: list[DemoRecord], aggregator: DemoCenter,
             share: int = 8) -> tuple[list[DemoRecord], list[DemoRecord]]:
    """Datasets a center also deposits with an aggregator (ScienceDB): one live record in about ``share``,
    chosen by a hash (the random stream is untouched), none labelled 密级.

    Returns the center's records, where half of the deposited datasets carry only their CSTR (the
    center registered no DOI: the aggregator minted one under its own prefix), and the aggregator's
    copies: the same dataset with a DOI (the center's, or the minted one) and the center's CSTR, listed
    half a year later under the year of its deposit. A search shows each as one dataset with two sources,
    found by the DOI or, for the CSTR-only ones, by the CSTR both records share.
    """
    own: list[DemoRecord] = []
    copies: list[DemoRecord] = []
    for r in records:
        h = zlib.crc32(f"deposit:{center.id}:{r.local_id}".encode())
        if r.deleted or h % share or any(x.startswith("密级") for x in r.extra_rights):
            own.append(r)
            continue
        cstr_only = h % (2 * share) == 0
        local_id = f"{center.id}.{r.local_id}"
        issued = r.issued + timedelta(days=183)
        copies.append(replace(
            r, local_id=local_id, identifier=f"oai:{aggregator.id}:{local_id}",
            datestamp=max(r.datestamp, datetime(issued.year, issued.month, issued.day, tzinfo=UTC)) + timedelta(days=1),
            sets=list(r.sets), issued=issued, year=issued.year, landing_url=f"/dataset/{local_id}",
            doi=f"{aggregator.doi_prefix}/{aggregator.id}.{local_id}" if cstr_only else r.doi))
        own.append(replace(r, doi="") if cstr_only else r)
    return own, copies
