import DcmtkBridge

extension ThumbnailMaker {
    /// Two tiles side by side (2 cells x 1), or up to four in a 2 x 2 grid, each centred in its
    /// `cell` x `cell` square on black. Grey tiles become RGB when any tile is in colour.
    static func mosaic(_ tiles: [RenderedImage], cell: Int) -> RenderedImage {
        let columns = 2
        let rows = tiles.count <= 2 ? 1 : 2
        let width = columns * cell, height = rows * cell
        let channels = tiles.contains { $0.channels == 3 } ? 3 : 1
        var canvas = [UInt8](repeating: 0, count: width * height * channels)
        for (i, tile) in tiles.prefix(columns * rows).enumerated() {
            let w = min(tile.width, cell), h = min(tile.height, cell)
            let x0 = (i % columns) * cell + (cell - w) / 2
            let y0 = (i / columns) * cell + (cell - h) / 2
            for y in 0..<h {
                let sourceRow = y * tile.width * tile.channels
                let targetRow = ((y0 + y) * width + x0) * channels
                if tile.channels == channels {
                    let n = w * channels
                    canvas.replaceSubrange(targetRow..<targetRow + n, with: tile.pixels[sourceRow..<sourceRow + n])
                } else {  // grey tile on an RGB canvas
                    for x in 0..<w {
                        let v = tile.pixels[sourceRow + x]
                        let t = targetRow + x * 3
                        canvas[t] = v
                        canvas[t + 1] = v
                        canvas[t + 2] = v
                    }
                }
            }
        }
        return RenderedImage(outcome: .image, width: width, height: height, channels: channels, pixels: canvas)
    }
}
