"""The picture's map, drawn on the server as SVG: district outlines the admin imports as
GeoJSON, places at their coordinates. Nothing is fetched from elsewhere unless a deployment
names its own tile server (PICTURE_TILE_URL; off by default).

Web Mercator, so the optional tiles line up with the outline and the places.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from interrupters.errors import InvalidInput

TILE = 256
WIDTH = 640.0
PADDING = 0.08
# A ring with more points is thinned: a district outline needs no survey's precision.
MAX_RING_POINTS = 2000
MAX_POINTS = 50_000
Ring = list[tuple[float, float]]  # (longitude, latitude)


def mercator(lon: float, lat: float) -> tuple[float, float]:
    """World pixel coordinates at zoom 0 (0..256 both ways)."""
    lat = max(min(lat, 85.0511), -85.0511)
    x = (lon + 180.0) / 360.0 * TILE
    rad = math.radians(lat)
    y = (1.0 - math.log(math.tan(rad) + 1.0 / math.cos(rad)) / math.pi) / 2.0 * TILE
    return x, y


@dataclass
class MapPoint:
    place_id: int
    name: str
    x: float
    y: float
    trend: str
    concern: float
    count: int


@dataclass
class MapTile:
    href: str
    x: float
    y: float
    size: float


@dataclass
class Map:
    width: float
    height: float
    outlines: list[str] = field(default_factory=list)  # SVG path data
    points: list[MapPoint] = field(default_factory=list)
    tiles: list[MapTile] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)  # places without coordinates


def draw(*, outline: list[Any], places: Iterable[Any], tile_url: str | None = None) -> Map | None:
    """The map of a district's outline and places (PlaceRow-like objects); None when nothing
    has coordinates."""
    rings: list[Ring] = [[(p[0], p[1]) for p in ring] for polygon in outline for ring in polygon]
    places = list(places)
    located = [p for p in places if p.latitude is not None and p.longitude is not None]
    points = [mercator(lon, lat) for ring in rings for lon, lat in ring]
    points += [mercator(p.longitude, p.latitude) for p in located]
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    # At least about a kilometre across, so one place alone is not infinitely magnified.
    span = max(max(xs) - min(xs), max(ys) - min(ys), 0.01)
    pad = span * PADDING
    left, top = min(xs) - pad, min(ys) - pad
    box_w, box_h = max(xs) - min(xs) + 2 * pad, max(ys) - min(ys) + 2 * pad
    scale = WIDTH / max(box_w, 0.01)
    zoom = None
    if tile_url:
        # Whole zoom levels, so each tile is drawn at its own size.
        zoom = max(0, min(18, math.floor(math.log2(scale))))
        scale = float(2**zoom)
    width, height = box_w * scale, box_h * scale

    def at(x: float, y: float) -> tuple[float, float]:
        return round((x - left) * scale, 1), round((y - top) * scale, 1)

    drawn = Map(width=round(width, 1), height=round(height, 1))
    for ring in rings:
        if len(ring) < 3:
            continue
        coords = [at(*mercator(lon, lat)) for lon, lat in ring]
        drawn.outlines.append("M" + " L".join(f"{x} {y}" for x, y in coords) + " Z")
    for place in located:
        x, y = at(*mercator(place.longitude, place.latitude))
        drawn.points.append(
            MapPoint(
                place_id=place.place_id,
                name=place.name,
                x=x,
                y=y,
                trend=place.trend.value,
                concern=place.concern,
                count=place.current,
            )
        )
    drawn.unplaced = [p.name for p in places if p not in located]
    if zoom is not None and tile_url:
        size = float(TILE)
        first_x, first_y = math.floor(left * scale / TILE), math.floor(top * scale / TILE)
        last_x = math.floor((left + box_w) * scale / TILE)
        last_y = math.floor((top + box_h) * scale / TILE)
        for tx in range(first_x, last_x + 1):
            for ty in range(first_y, last_y + 1):
                drawn.tiles.append(
                    MapTile(
                        href=tile_url.format(z=zoom, x=tx, y=ty),
                        x=round(tx * TILE - left * scale, 1),
                        y=round(ty * TILE - top * scale, 1),
                        size=size,
                    )
                )
    return drawn


def tile_origin(tile_url: str | None) -> str | None:
    """The tile server's origin, for the map page's Content-Security-Policy."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    return f"{parts.scheme}://{parts.netloc}"


# GeoJSON import --------------------------------------------------------------------------


def _ring(raw: Any) -> Ring:
    if not isinstance(raw, list) or len(raw) < 4:
        raise InvalidInput({"geojson": _l("A polygon's ring needs at least four positions.")})
    ring: Ring = []
    for position in raw:
        if (
            not isinstance(position, list | tuple)
            or len(position) < 2
            or not all(isinstance(v, int | float) and math.isfinite(v) for v in position[:2])
        ):
            raise InvalidInput({"geojson": _l("A position is not a pair of numbers.")})
        lon, lat = float(position[0]), float(position[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InvalidInput(
                {"geojson": _l("Coordinates must be longitude and latitude (WGS84).")}
            )
        ring.append((round(lon, 5), round(lat, 5)))
    if len(ring) > MAX_RING_POINTS:
        step = math.ceil(len(ring) / MAX_RING_POINTS)
        ring = [*ring[::step], ring[-1]]
    return ring


def _polygons(geometry: Any) -> list[list[Ring]]:
    if not isinstance(geometry, dict):
        raise InvalidInput({"geojson": _l("A feature has no geometry.")})
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon" and isinstance(coordinates, list):
        return [[_ring(r) for r in coordinates]]
    if kind == "MultiPolygon" and isinstance(coordinates, list):
        return [[_ring(r) for r in polygon] for polygon in coordinates if isinstance(polygon, list)]
    if kind == "GeometryCollection" and isinstance(geometry.get("geometries"), list):
        return [p for g in geometry["geometries"] for p in _polygons(g)]
    raise InvalidInput({"geojson": _l("Only polygons and multipolygons make an outline.")})


NAME_KEYS = ("name", "namn", "NAMN", "Name", "stadsdelsomrade", "STADSDELSOMRADE", "sdo_namn")


def parse_outlines(text: str) -> list[tuple[str | None, list[list[Ring]]]]:
    """A GeoJSON text as (name from the feature's properties, polygons) per feature."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidInput({"geojson": _l("This is not GeoJSON.")}) from None
    if not isinstance(data, dict):
        raise InvalidInput({"geojson": _l("This is not GeoJSON.")})
    features: list[Any]
    if data.get("type") == "FeatureCollection" and isinstance(data.get("features"), list):
        features = data["features"]
    elif data.get("type") == "Feature":
        features = [data]
    else:
        features = [{"type": "Feature", "geometry": data, "properties": {}}]
    found: list[tuple[str | None, list[list[Ring]]]] = []
    total = 0
    for feature in features:
        if not isinstance(feature, dict):
            continue
        properties = feature.get("properties") or {}
        name = next(
            (
                str(properties[k])
                for k in NAME_KEYS
                if isinstance(properties, dict) and properties.get(k)
            ),
            None,
        )
        polygons = _polygons(feature.get("geometry"))
        total += sum(len(r) for p in polygons for r in p)
        if total > MAX_POINTS:
            raise InvalidInput({"geojson": _l("The outline has too many points.")})
        found.append((name, polygons))
    if not found:
        raise InvalidInput({"geojson": _l("The file has no outline.")})
    return found


def as_stored(polygons: list[list[Ring]]) -> list[Any]:
    return [[[[lon, lat] for lon, lat in ring] for ring in polygon] for polygon in polygons]
