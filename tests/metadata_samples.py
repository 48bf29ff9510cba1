"""Sample DCAT (RDF/XML, Turtle, JSON-LD) and ISO 19139 records, shaped like what centers publish."""

from __future__ import annotations

DCAT_RDFXML = """\
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
         xmlns:dcat="http://www.w3.org/ns/dcat#"
         xmlns:dct="http://purl.org/dc/terms/"
         xmlns:foaf="http://xmlns.com/foaf/0.1/"
         xmlns:adms="http://www.w3.org/ns/adms#"
         xmlns:skos="http://www.w3.org/2004/02/skos/core#"
         xmlns:owl="http://www.w3.org/2002/07/owl#"
         xmlns:tp="https://data.example.cn/ns#">
  <dcat:Dataset rdf:about="https://data.example.cn/dataset/{local}">
    <dct:title xml:lang="zh">{title_zh}</dct:title>
    <dct:title xml:lang="en">{title_en}</dct:title>
    <dct:description xml:lang="zh">基于 Landsat 与 Sentinel-2 影像解译的青藏高原冰川边界，2000—2020 年每五年一期。</dct:description>
    <dct:description xml:lang="en">Glacier outlines of the Tibetan Plateau from Landsat and Sentinel-2, every five years 2000-2020.</dct:description>
    <dcat:keyword xml:lang="zh">冰川；青藏高原</dcat:keyword>
    <dcat:keyword xml:lang="en">glacier inventory</dcat:keyword>
    <dcat:theme>
      <skos:Concept rdf:about="https://data.example.cn/theme/cryosphere">
        <skos:prefLabel xml:lang="zh">冰冻圈</skos:prefLabel>
        <skos:prefLabel xml:lang="en">Cryosphere</skos:prefLabel>
      </skos:Concept>
    </dcat:theme>
    <dct:creator><foaf:Person><foaf:name>张伟</foaf:name></foaf:Person></dct:creator>
    <dct:creator><foaf:Person><foaf:name>Li, Na</foaf:name></foaf:Person></dct:creator>
    <dct:publisher>
      <foaf:Organization>
        <foaf:name xml:lang="en">National Tibetan Plateau Data Center</foaf:name>
        <foaf:name xml:lang="zh">国家青藏高原科学数据中心</foaf:name>
      </foaf:Organization>
    </dct:publisher>
    <dct:issued rdf:datatype="http://www.w3.org/2001/XMLSchema#date">2021-03-15</dct:issued>
    <dct:modified rdf:datatype="http://www.w3.org/2001/XMLSchema#dateTime">2023-07-01T08:30:00</dct:modified>
    <dct:identifier>{doi}</dct:identifier>
    <adms:identifier>
      <adms:Identifier><skos:notation>CSTR:18406.11.{local}</skos:notation></adms:Identifier>
    </adms:identifier>
    <dcat:landingPage rdf:resource="https://data.example.cn/en/data/{local}/"/>
    <dct:language rdf:resource="http://publications.europa.eu/resource/authority/language/ZHO"/>
    <owl:versionInfo>2.0</owl:versionInfo>
    <dct:accessRights rdf:resource="http://publications.europa.eu/resource/authority/access-right/PUBLIC"/>
    <dct:rights>
      <dct:RightsStatement><rdfs:label>{rights}</rdfs:label></dct:RightsStatement>
    </dct:rights>
    <tp:securityLevel>{level}</tp:securityLevel>
    <dcat:distribution>
      <dcat:Distribution>
        <dct:title>Shapefile</dct:title>
        <dcat:accessURL rdf:resource="https://data.example.cn/download/{local}.zip"/>
        <dct:format rdf:resource="http://publications.europa.eu/resource/authority/file-type/SHP"/>
        <dcat:mediaType>application/zip</dcat:mediaType>
        <dct:license rdf:resource="https://creativecommons.org/licenses/by/4.0/"/>
      </dcat:Distribution>
    </dcat:distribution>
  </dcat:Dataset>
</rdf:RDF>
"""


def dcat_rdfxml(local: str = "glacier-2021", *, doi: str = "https://doi.org/10.11888/Cryos.tpdc.271456",
                title_zh: str = "青藏高原冰川编目数据集（2000—2020）",
                title_en: str = "Glacier inventory of the Tibetan Plateau (2000-2020)",
                rights: str = "国内国外均可分发", level: str = "一般") -> str:
    return DCAT_RDFXML.format(local=local, doi=doi, title_zh=title_zh, title_en=title_en, rights=rights,
                              level=level)


DCAT_TURTLE = """\
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://doi.org/10.12072/ncdc.glacier.db0012.2022> a dcat:Dataset ;
    dct:title "天山乌鲁木齐河源1号冰川物质平衡观测数据"@zh , "Mass balance of Urumqi Glacier No. 1, Tianshan"@en ;
    dct:description "1959—2020 年逐年物质平衡。"@zh ;
    dcat:keyword "冰川物质平衡;天山"@zh , "mass balance"@en ;
    dct:creator [ a vcard:Individual ; vcard:fn "李忠勤" ] ;
    dct:publisher [ a foaf:Agent ; foaf:name "国家冰川冻土沙漠科学数据中心"@zh ] ;
    dct:issued "2022-05-10"^^xsd:date ;
    dct:identifier "CSTR:11738.11.ncdc.glacier.db0012.2022" ;
    dct:accessRights [ a dct:RightsStatement ; dct:title "有条件共享：需提交数据申请" ] ;
    dct:license <https://creativecommons.org/licenses/by-nc/4.0/> ;
    dcat:distribution [ a dcat:Distribution ;
        dcat:downloadURL <https://ncdc.example.cn/files/db0012.xlsx> ;
        dct:format "XLSX" ] .
"""

DCAT_JSONLD_REMOTE_CONTEXT = """\
{{
  "@context": ["{context_url}", {{"@language": "zh"}}],
  "@id": "https://data.example.cn/dataset/ocean-ctd-2019",
  "@type": "dcat:Dataset",
  "dct:title": [{{"@value": "南海北部温盐深（CTD）剖面数据", "@language": "zh"}},
                {{"@value": "CTD profiles of the northern South China Sea", "@language": "en"}}],
  "dct:description": "2019 年夏季航次 CTD 剖面。",
  "dcat:keyword": ["温盐深", "南海"],
  "dct:identifier": "doi:10.12345/scsio.ctd.2019",
  "dct:issued": "2019-11-02",
  "dct:accessRights": {{"@id": "http://publications.europa.eu/resource/authority/access-right/RESTRICTED"}},
  "title": "a term only the remote context defines"
}}
"""

ISO19139 = """\
<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco"
    xmlns:gmx="http://www.isotc211.org/2005/gmx" xmlns:xlink="http://www.w3.org/1999/xlink"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <gmd:fileIdentifier><gco:CharacterString>{uuid}</gco:CharacterString></gmd:fileIdentifier>
  <gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="chi">chi</gmd:LanguageCode></gmd:language>
  <gmd:characterSet><gmd:MD_CharacterSetCode codeList="#MD_CharacterSetCode" codeListValue="utf8"/></gmd:characterSet>
  <gmd:dateStamp><gco:DateTime>2023-09-01T10:00:00</gco:DateTime></gmd:dateStamp>
  <gmd:locale>
    <gmd:PT_Locale id="locale-eng">
      <gmd:languageCode><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="eng"/></gmd:languageCode>
      <gmd:characterEncoding><gmd:MD_CharacterSetCode codeList="#MD_CharacterSetCode" codeListValue="utf8"/></gmd:characterEncoding>
    </gmd:PT_Locale>
  </gmd:locale>
  <gmd:metadataConstraints>
    <gmd:MD_SecurityConstraints>
      <gmd:classification><gmd:MD_ClassificationCode codeList="#MD_ClassificationCode" codeListValue="unclassified"/></gmd:classification>
    </gmd:MD_SecurityConstraints>
  </gmd:metadataConstraints>
  <gmd:identificationInfo>
    <gmd:MD_DataIdentification>
      <gmd:citation>
        <gmd:CI_Citation>
          <gmd:title xsi:type="gmd:PT_FreeText_PropertyType">
            <gco:CharacterString>{title_zh}</gco:CharacterString>
            <gmd:PT_FreeText><gmd:textGroup>
              <gmd:LocalisedCharacterString locale="#locale-eng">{title_en}</gmd:LocalisedCharacterString>
            </gmd:textGroup></gmd:PT_FreeText>
          </gmd:title>
          <gmd:date><gmd:CI_Date>
            <gmd:date><gco:Date>2020-12-20</gco:Date></gmd:date>
            <gmd:dateType><gmd:CI_DateTypeCode codeList="#CI_DateTypeCode" codeListValue="publication">publication</gmd:CI_DateTypeCode></gmd:dateType>
          </gmd:CI_Date></gmd:date>
          <gmd:date><gmd:CI_Date>
            <gmd:date><gco:Date>2022-04-02</gco:Date></gmd:date>
            <gmd:dateType><gmd:CI_DateTypeCode codeList="#CI_DateTypeCode" codeListValue="revision"/></gmd:dateType>
          </gmd:CI_Date></gmd:date>
          <gmd:identifier><gmd:MD_Identifier>
            <gmd:code><gmx:Anchor xlink:href="https://doi.org/{doi}">{doi}</gmx:Anchor></gmd:code>
          </gmd:MD_Identifier></gmd:identifier>
          <gmd:identifier><gmd:RS_Identifier>
            <gmd:code><gco:CharacterString>{cstr}</gco:CharacterString></gmd:code>
            <gmd:codeSpace><gco:CharacterString>CSTR</gco:CharacterString></gmd:codeSpace>
          </gmd:RS_Identifier></gmd:identifier>
          <gmd:citedResponsibleParty><gmd:CI_ResponsibleParty>
            <gmd:individualName><gco:CharacterString>王建</gco:CharacterString></gmd:individualName>
            <gmd:role><gmd:CI_RoleCode codeList="#CI_RoleCode" codeListValue="author"/></gmd:role>
          </gmd:CI_ResponsibleParty></gmd:citedResponsibleParty>
          <gmd:citedResponsibleParty><gmd:CI_ResponsibleParty>
            <gmd:individualName><gco:CharacterString>Chen, Xi</gco:CharacterString></gmd:individualName>
            <gmd:role><gmd:CI_RoleCode codeList="#CI_RoleCode" codeListValue="originator"/></gmd:role>
          </gmd:CI_ResponsibleParty></gmd:citedResponsibleParty>
          <gmd:citedResponsibleParty><gmd:CI_ResponsibleParty>
            <gmd:organisationName><gco:CharacterString>国家地球系统科学数据中心</gco:CharacterString></gmd:organisationName>
            <gmd:role><gmd:CI_RoleCode codeList="#CI_RoleCode" codeListValue="publisher"/></gmd:role>
          </gmd:CI_ResponsibleParty></gmd:citedResponsibleParty>
        </gmd:CI_Citation>
      </gmd:citation>
      <gmd:abstract xsi:type="gmd:PT_FreeText_PropertyType">
        <gco:CharacterString>黄河流域 1:25 万土地利用数据，2020 年。</gco:CharacterString>
        <gmd:PT_FreeText><gmd:textGroup>
          <gmd:LocalisedCharacterString locale="#locale-eng">Land use of the Yellow River basin at 1:250,000, 2020.</gmd:LocalisedCharacterString>
        </gmd:textGroup></gmd:PT_FreeText>
      </gmd:abstract>
      <gmd:descriptiveKeywords><gmd:MD_Keywords>
        <gmd:keyword xsi:type="gmd:PT_FreeText_PropertyType">
          <gco:CharacterString>土地利用；黄河流域</gco:CharacterString>
          <gmd:PT_FreeText><gmd:textGroup>
            <gmd:LocalisedCharacterString locale="#locale-eng">land use</gmd:LocalisedCharacterString>
          </gmd:textGroup></gmd:PT_FreeText>
        </gmd:keyword>
      </gmd:MD_Keywords></gmd:descriptiveKeywords>
      <gmd:resourceConstraints>
        <gmd:MD_Constraints>
          <gmd:useLimitation><gco:CharacterString>引用时请注明数据来源</gco:CharacterString></gmd:useLimitation>
        </gmd:MD_Constraints>
      </gmd:resourceConstraints>
      <gmd:resourceConstraints>
        <gmd:MD_LegalConstraints>
          <gmd:accessConstraints><gmd:MD_RestrictionCode codeList="#MD_RestrictionCode" codeListValue="{access}"/></gmd:accessConstraints>
          <gmd:useConstraints><gmd:MD_RestrictionCode codeList="#MD_RestrictionCode" codeListValue="license"/></gmd:useConstraints>
          <gmd:otherConstraints><gco:CharacterString>{other}</gco:CharacterString></gmd:otherConstraints>
          <gmd:otherConstraints><gmx:Anchor xlink:href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</gmx:Anchor></gmd:otherConstraints>
        </gmd:MD_LegalConstraints>
      </gmd:resourceConstraints>
      <gmd:resourceConstraints>
        <gmd:MD_SecurityConstraints>
          <gmd:classification><gmd:MD_ClassificationCode codeList="#MD_ClassificationCode" codeListValue="{classification}"/></gmd:classification>
        </gmd:MD_SecurityConstraints>
      </gmd:resourceConstraints>
      <gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="chi"/></gmd:language>
      <gmd:topicCategory><gmd:MD_TopicCategoryCode>planningCadastre</gmd:MD_TopicCategoryCode></gmd:topicCategory>
    </gmd:MD_DataIdentification>
  </gmd:identificationInfo>
  <gmd:distributionInfo><gmd:MD_Distribution>
    <gmd:distributionFormat><gmd:MD_Format>
      <gmd:name><gco:CharacterString>GeoTIFF</gco:CharacterString></gmd:name>
      <gmd:version gco:nilReason="unknown"/>
    </gmd:MD_Format></gmd:distributionFormat>
    <gmd:transferOptions><gmd:MD_DigitalTransferOptions>
      <gmd:onLine><gmd:CI_OnlineResource>
        <gmd:linkage><gmd:URL>https://geodata.example.cn/data/datadetails.html?dataguid={uuid}</gmd:URL></gmd:linkage>
        <gmd:function><gmd:CI_OnLineFunctionCode codeList="#CI_OnLineFunctionCode" codeListValue="information"/></gmd:function>
      </gmd:CI_OnlineResource></gmd:onLine>
      <gmd:onLine><gmd:CI_OnlineResource>
        <gmd:linkage><gmd:URL>https://geodata.example.cn/download/{uuid}.tif</gmd:URL></gmd:linkage>
        <gmd:function><gmd:CI_OnLineFunctionCode codeList="#CI_OnLineFunctionCode" codeListValue="download"/></gmd:function>
      </gmd:CI_OnlineResource></gmd:onLine>
    </gmd:MD_DigitalTransferOptions></gmd:transferOptions>
  </gmd:MD_Distribution></gmd:distributionInfo>
</gmd:MD_Metadata>
"""


def iso19139(uuid: str = "5e1c0a6f-3f0e-4a8a-9d7e-2b7f1c0d9e11", *,
             title_zh: str = "黄河流域土地利用数据（2020）", title_en: str = "Land use of the Yellow River basin (2020)",
             doi: str = "10.12041/geodata.2020.0412", cstr: str = "11738.11.geodata.2020.0412",
             access: str = "otherRestrictions", other: str = "仅限境内使用，不得向境外提供",
             classification: str = "unclassified") -> str:
    return ISO19139.format(uuid=uuid, title_zh=title_zh, title_en=title_en, doi=doi, cstr=cstr, access=access,
                           other=other, classification=classification)
