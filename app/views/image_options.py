"""The image view's own controls as view options: the part-map toggle (and whose 2D) and the
heatmap shown (every joint, one joint, off) live in :class:`~app.model.view_options.ViewOptions`,
so the workspace file saves and restores them like the other options. The main window binds them
(:func:`bind_image_options`); the image view keeps drawing from its controls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.visuals.binding import bind

if TYPE_CHECKING:
    from app.model.sample_feed import SampleFeed
    from app.model.view_options import ViewOptions
    from app.views.image_view import ImageView


def bind_image_options(view: ImageView, options: ViewOptions, feed: SampleFeed) -> None:
    """The user's choices go to ``options``; ``options`` (a restored workspace) set the controls. A
    joint's heatmap is chosen once the sample's heatmaps list it (they arrive after the sample)."""

    def parts_chosen(*_args) -> None:
        options.parts = view.parts_from.currentText() if view.parts_box.isChecked() else ""

    def parts_set(value: str) -> None:
        if value and view.parts_from.findText(value) >= 0:
            view.parts_from.setCurrentText(value)
        view.parts_box.setChecked(bool(value))

    def heatmap_set(*_args) -> None:
        if view.heatmap_box.findData(options.heatmap) >= 0 and view.heatmap_box.currentData() != options.heatmap:
            view.select_heatmap(options.heatmap)

    view.parts_box.toggled.connect(parts_chosen)
    view.parts_from.activated.connect(parts_chosen)
    view.heatmap_box.activated.connect(lambda _i: setattr(options, "heatmap", view.heatmap_box.currentData()))
    bind(options.events.parts, parts_set, view)
    bind(options.events.heatmap, heatmap_set, view)
    bind(feed.sample_changed, heatmap_set, view)  # after the view's own handler: its joints are listed
    parts_set(options.parts)
